#!/usr/bin/env node
// Checks what `npm pack` would publish: only what a library user needs. Runs `npm pack --dry-run`,
// whose prepack compiles first when lib/ or .jsii is missing or stale (on a clean clone it must), and
// prints the file count and the size. Exit 1, naming the files, when one is missing or does not belong.
'use strict';
const { execFileSync } = require('child_process');
const { existsSync } = require('fs');
const { join } = require('path');

const root = join(__dirname, '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
// stdout also carries what prepack's compile prints: the JSON report is the last thing, from a line "["
const stdout = execFileSync(npm, ['pack', '--dry-run', '--json'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
const start = stdout.search(/^\[/m);
if (start < 0) throw new Error(`npm pack --dry-run --json printed no JSON report:\n${stdout}`);
const [report] = JSON.parse(stdout.slice(start));
const files = report.files.map((f) => f.path).sort();

/** What may be in the package: the compiled library, its jsii assembly and docs, the bundled dependencies. */
const ALLOWED = [
  /^package\.json$/, /^README\.md$/, /^LICENSE$/, /^API\.md$/, /^\.jsii$/,
  /^lib\/(?!main\.|app\/).+\.(js|d\.ts)$/,
  /^node_modules\/ipaddr\.js\//, /^node_modules\/yaml\//,
];
/** What must be: without these the package does not load, or jsii languages and docs lack it. */
const REQUIRED = ['package.json', 'README.md', 'LICENSE', 'API.md', '.jsii', 'lib/index.js', 'lib/index.d.ts',
  'lib/constructs/node-firewall.js', 'lib/constructs/compartment-workload.js', 'node_modules/ipaddr.js/package.json',
  // the cdk8s-hostnet command (package.json "bin") and what it reads YAML with
  'lib/cli/cdk8s-hostnet.js', 'node_modules/yaml/package.json'];

const unexpected = files.filter((f) => !ALLOWED.some((pattern) => pattern.test(f)));
const missing = REQUIRED.filter((f) => !files.includes(f));
const untyped = files.filter((f) => f.startsWith('lib/') && f.endsWith('.js') && !files.includes(f.replace(/\.js$/, '.d.ts')));
// jsii never deletes from lib/: a module removed from src/ would still ship
const orphaned = files.filter((f) => f.startsWith('lib/') && !existsSync(join(root, f.replace(/^lib\//, 'src/').replace(/(\.d)?\.ts$|\.js$/, '.ts'))));
const kB = (bytes) => `${(bytes / 1000).toFixed(0)} kB`;
console.log(`${report.filename}: ${report.entryCount} files, ${kB(report.size)} packed, ${kB(report.unpackedSize)} unpacked`);
const problems = [
  ...unexpected.map((f) => `does not belong in the package: ${f}`),
  ...missing.map((f) => `missing from the package: ${f}`),
  ...untyped.map((f) => `no type declarations beside: ${f}`),
  ...orphaned.map((f) => `left over in lib/ from a module src/ no longer has: ${f}`),
];
if (problems.length > 0) {
  console.error(problems.join('\n'));
  console.error('the package is package.json "files" (.projenrc.ts); this check is scripts/check-package.js');
  process.exit(1);
}
