#!/usr/bin/env node
// smoke-plugin-build ENTRY -o PLUGIN.wasm: build a JavaScript or TypeScript plugin into a component.
//
// A TypeScript entry is type-checked first with the pinned TypeScript (its tsconfig.json when it
// has one), so a typo fails the build with the compiler's message instead of running. Then ENTRY
// (a .js or .ts module exporting `guest = definePlugin(...)`) is bundled with its imports (this
// SDK included) into one module with the pinned esbuild, with a source map the SDK reads when
// the plugin throws (a fault names plugin.ts:LINE, not the bundle), and the component is built
// with the pinned componentize-js against the contract this SDK ships (wit/plugin.wit).
//
// For `smoke dev` (seconds from an edit to a verdict): `--dev-bundle` writes only the checked
// bundle (a script, with its source map beside it), and `--dev-runner` builds, once, the
// component that runs such a bundle, handed to it by the host, so an edit needs no new
// component and no new compile.

import { componentize } from '@bytecodealliance/componentize-js';
import { build } from 'esbuild';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const HOST = 'smoke:plugin/host@0.2.0';
const sdk = dirname(dirname(fileURLToPath(import.meta.url)));

function usage(message) {
  if (message) console.error(`smoke-plugin-build: ${message}`);
  console.error('usage: smoke-plugin-build ENTRY.(js|ts) -o PLUGIN.wasm');
  console.error('       smoke-plugin-build --dev-bundle ENTRY.(js|ts) -o BUNDLE.js    (for smoke dev)');
  console.error('       smoke-plugin-build --dev-runner -o RUNNER.wasm               (for smoke dev)');
  process.exit(2);
}

const args = process.argv.slice(2);
let entry;
let output;
let mode = 'component';
for (let i = 0; i < args.length; i++) {
  if (args[i] === '-o' || args[i] === '--output') output = args[++i];
  else if (args[i] === '--dev-bundle') mode = 'dev-bundle';
  else if (args[i] === '--dev-runner') mode = 'dev-runner';
  else if (args[i] === '-h' || args[i] === '--help') usage();
  else if (!entry) entry = args[i];
  else usage(`unexpected argument ${args[i]}`);
}
if (!output) usage('no output given (-o FILE)');
if (mode !== 'dev-runner') {
  if (!entry) usage('no entry module given');
  entry = resolve(entry);
  if (!existsSync(entry)) usage(`${entry} does not exist`);
}

/** Type-check a TypeScript entry and what it imports; the compiler's messages when it fails. */
async function typeCheck(file) {
  if (!/\.[mc]?ts$/.test(file)) return null;
  const ts = (await import('typescript')).default;
  const configFile = ts.findConfigFile(dirname(file), ts.sys.fileExists, 'tsconfig.json');
  let options;
  if (configFile && dirname(configFile) === dirname(file)) {
    const read = ts.readConfigFile(configFile, ts.sys.readFile);
    options = ts.parseJsonConfigFileContent(read.config ?? {}, ts.sys, dirname(configFile)).options;
  } else {
    options = {
      strict: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      allowImportingTsExtensions: true,
      skipLibCheck: true,
      lib: ['lib.es2022.d.ts'],
      types: [],
      // The SDK the bundle is built with is the one the types come from.
      paths: {
        'smoke-plugin': [join(sdk, 'src', 'index.d.ts')],
        'smoke-plugin/testing': [join(sdk, 'src', 'testing.d.ts')],
      },
    };
  }
  const program = ts.createProgram([file], { ...options, noEmit: true });
  const diagnostics = ts.getPreEmitDiagnostics(program);
  if (diagnostics.length === 0) return null;
  return ts.formatDiagnostics(diagnostics, {
    getCanonicalFileName: (f) => f,
    getCurrentDirectory: () => process.cwd(),
    getNewLine: () => '\n',
  });
}

/** Bundle `source` (with this SDK) into one script or module, and its source map with paths
 * relative to the entry's folder (what a fault names). */
async function bundle(source, work, format) {
  const outfile = join(work, 'plugin.js');
  const result = await build({
    entryPoints: [source],
    bundle: true,
    format,
    globalName: format === 'iife' ? '__smokeDevPlugin' : undefined,
    platform: 'neutral',
    target: 'es2022',
    outfile,
    write: false,
    sourcemap: 'external',
    sourcesContent: false,
    external: ['smoke:plugin/*', 'wasi:*'],
    alias: { 'smoke-plugin': join(sdk, 'src', 'index.js') },
    logLevel: 'warning',
  });
  const text = (suffix) => result.outputFiles.find((f) => f.path.endsWith(suffix)).text;
  const map = JSON.parse(text('.js.map'));
  const base = entry ? dirname(entry) : work;
  map.sources = map.sources.map((s) => relative(base, resolve(work, s)));
  return { code: text('plugin.js'), map };
}

/** The entry the component runs: the host's log wired into the SDK, then the plugin's export. */
function entryShim() {
  return `import { log } from '${HOST}';\nimport { __setHostLog } from 'smoke-plugin';\n__setHostLog(log);\nexport { guest } from ${JSON.stringify(entry)};\n`;
}

// The runner `smoke dev` loads: each call evaluates the bundle the host hands it in the
// environment (SMOKE_DEV_BUNDLE, with SMOKE_DEV_SOURCE_MAP), then delegates to its `guest`.
const RUNNER = `import { log } from '${HOST}';
import { getEnvironment } from 'wasi:cli/environment@0.2.12';

function load() {
  const env = new Map(getEnvironment());
  const code = env.get('SMOKE_DEV_BUNDLE');
  if (!code) throw new Error('smoke dev runner: the host handed no bundle (SMOKE_DEV_BUNDLE)');
  globalThis.require = (name) => {
    if (name === '${HOST}') return { log };
    throw new Error('smoke dev runner: a bundle may import only the smoke host, not ' + name);
  };
  const map = env.get('SMOKE_DEV_SOURCE_MAP');
  globalThis.__smokeSourceMap = map ? JSON.parse(map) : undefined;
  (0, eval)(code);
  return globalThis.__smokeDevPlugin.guest;
}

export const guest = {
  info: () => load().info(),
  plan: (input) => load().plan(input),
  check: (input) => load().check(input),
};
`;

/** The contract plus one import the runner needs: the environment it reads the bundle from. */
async function runnerWit(work) {
  const wit = join(work, 'wit');
  await mkdir(join(wit, 'deps', 'wasi-cli'), { recursive: true });
  await writeFile(join(wit, 'plugin.wit'), await readFile(join(sdk, 'wit', 'plugin.wit')));
  await writeFile(
    join(wit, 'dev.wit'),
    'package smoke:plugin@0.2.0;\n\nworld plugin-dev {\n  include plugin;\n  import wasi:cli/environment@0.2.12;\n}\n',
  );
  await writeFile(
    join(wit, 'deps', 'wasi-cli', 'environment.wit'),
    'package wasi:cli@0.2.12;\n\ninterface environment {\n  get-environment: func() -> list<tuple<string, string>>;\n}\n',
  );
  return wit;
}

async function main(work) {
  if (mode !== 'dev-runner') {
    const problems = await typeCheck(entry);
    if (problems) {
      console.error(`smoke-plugin-build: ${relative(process.cwd(), entry)} does not type-check (tsc):\n${problems.trimEnd()}`);
      return 1;
    }
  }
  if (mode === 'dev-bundle') {
    const shim = join(work, 'entry.js');
    await writeFile(shim, entryShim());
    const { code, map } = await bundle(shim, work, 'iife');
    await writeFile(resolve(output), code);
    await writeFile(`${resolve(output)}.map`, JSON.stringify(map));
    return 0;
  }
  let source;
  let witPath = join(sdk, 'wit');
  let worldName = 'plugin';
  if (mode === 'dev-runner') {
    const runner = join(work, 'runner.js');
    await writeFile(runner, RUNNER);
    const { code } = await bundle(runner, work, 'esm');
    source = join(work, 'runner.bundle.js');
    await writeFile(source, code);
    witPath = await runnerWit(work);
    worldName = 'plugin-dev';
  } else {
    const shim = join(work, 'entry.js');
    await writeFile(shim, entryShim());
    const { code, map } = await bundle(shim, work, 'esm');
    source = join(work, 'plugin.bundle.js');
    // The map travels inside the component, read only when the plugin throws.
    await writeFile(source, `${code}\nglobalThis.__smokeSourceMap = ${JSON.stringify(map)};\n`);
  }
  const { component } = await componentize({
    sourcePath: source,
    witPath,
    worldName,
    // No network for plugins: the host links no wasi:http.
    disableFeatures: ['http', 'fetch-event'],
  });
  await writeFile(resolve(output), component);
  console.error(`smoke-plugin-build: wrote ${output} (${(component.length / 1048576).toFixed(1)} MiB)`);
  return 0;
}

const work = await mkdtemp(join(tmpdir(), 'smoke-plugin-build-'));
try {
  process.exitCode = await main(work);
} catch (e) {
  console.error(`smoke-plugin-build: building ${entry ?? 'the smoke dev runner'} failed: ${e?.message ?? e}`);
  process.exitCode = 1;
} finally {
  await rm(work, { recursive: true, force: true });
}
