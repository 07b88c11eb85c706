#!/usr/bin/env node
// Exits 0 when `projen compile` must run, 1 when its outputs are current (make's rule: every output
// exists and none is older than the newest input). `npm run synth` and `npm pack` (prepack) compile
// only then: jsii takes 10-15 s, the synth itself about 2 s. `npx projen compile` always compiles.
'use strict';
const { readdirSync, statSync } = require('fs');
const { join, relative } = require('path');

const root = join(__dirname, '..');
// jsii reads package.json (name, version, dependencies, targets) and tsconfig.json, and copies
// README.md into .jsii; the synth bundle also holds the installed dependencies, which
// package-lock.json pins
const INPUTS = ['src', 'package.json', 'package-lock.json', 'tsconfig.json', 'README.md'];
// written by every compile, after lib/: jsii's assembly, then the bundled synth app
const OUTPUTS = ['lib/index.js', '.jsii', 'build/synth-app.js'];

function mtime(path) {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
}

/** The newest file under path (a file or a directory), as [mtime, path]. */
function newest(path) {
  const stat = statSync(path);
  if (!stat.isDirectory()) return [stat.mtimeMs, path];
  return readdirSync(path).map((entry) => newest(join(path, entry))).reduce((a, b) => (b[0] > a[0] ? b : a), [stat.mtimeMs, path]);
}

const show = (path) => relative(process.cwd(), path) || '.';
const missing = OUTPUTS.map((o) => join(root, o)).find((o) => mtime(o) === undefined);
if (missing) {
  process.stderr.write(`${show(missing)} is missing: compiling\n`);
  process.exit(0);
}
const [inputTime, input] = INPUTS.map((i) => join(root, i)).filter((i) => mtime(i) !== undefined).map(newest).reduce((a, b) => (b[0] > a[0] ? b : a));
const [outputTime, output] = OUTPUTS.map((o) => [mtime(join(root, o)), join(root, o)]).reduce((a, b) => (b[0] < a[0] ? b : a));
if (inputTime > outputTime) {
  process.stderr.write(`${show(input)} is newer than ${show(output)}: compiling\n`);
  process.exit(0);
}
process.stderr.write('lib/, .jsii and build/synth-app.js are newer than src/: not compiling (npx projen compile forces it)\n');
process.exit(1);
