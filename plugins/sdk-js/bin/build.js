#!/usr/bin/env node
// smoke-plugin-build ENTRY -o PLUGIN.wasm: build a JavaScript or TypeScript plugin into a component.
//
// Bundles ENTRY (a .js or .ts module exporting `guest = definePlugin(...)`) with its imports
// (this SDK included) into one module with the pinned esbuild, which strips TypeScript types,
// then builds the component with the pinned componentize-js against the contract this SDK
// ships (wit/plugin.wit).

import { componentize } from '@bytecodealliance/componentize-js';
import { build } from 'esbuild';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const HOST = 'smoke:plugin/host@0.2.0';
const sdk = dirname(dirname(fileURLToPath(import.meta.url)));

function usage(message) {
  if (message) console.error(`smoke-plugin-build: ${message}`);
  console.error('usage: smoke-plugin-build ENTRY.(js|ts) -o PLUGIN.wasm');
  process.exit(2);
}

const args = process.argv.slice(2);
let entry;
let output;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '-o' || args[i] === '--output') output = args[++i];
  else if (args[i] === '-h' || args[i] === '--help') usage();
  else if (!entry) entry = args[i];
  else usage(`unexpected argument ${args[i]}`);
}
if (!entry || !output) usage(!entry ? 'no entry module given' : 'no output given (-o PLUGIN.wasm)');
entry = resolve(entry);
if (!existsSync(entry)) usage(`${entry} does not exist`);

const work = await mkdtemp(join(tmpdir(), 'smoke-plugin-build-'));
try {
  // The entry the component runs: the host's log wired into the SDK, then the plugin's export.
  const shim = join(work, 'entry.js');
  await writeFile(
    shim,
    `import { log } from '${HOST}';\nimport { __setHostLog } from 'smoke-plugin';\n__setHostLog(log);\nexport { guest } from ${JSON.stringify(entry)};\n`,
  );
  const bundle = join(work, 'plugin.js');
  await build({
    entryPoints: [shim],
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    outfile: bundle,
    external: ['smoke:plugin/*'],
    alias: { 'smoke-plugin': join(sdk, 'src', 'index.js') },
    logLevel: 'warning',
  });
  const { component } = await componentize({
    sourcePath: bundle,
    witPath: join(sdk, 'wit'),
    worldName: 'plugin',
    // No network for plugins: the host links no wasi:http.
    disableFeatures: ['http', 'fetch-event'],
  });
  await writeFile(resolve(output), component);
  console.error(`smoke-plugin-build: wrote ${output} (${(component.length / 1048576).toFixed(1)} MiB)`);
} catch (e) {
  console.error(`smoke-plugin-build: building ${entry} failed: ${e?.message ?? e}`);
  process.exitCode = 1;
} finally {
  await rm(work, { recursive: true, force: true });
}
