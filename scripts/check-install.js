#!/usr/bin/env node
// Does what the README tells a library user, in an empty directory: packs this repository
// (prepack compiles when needed), installs the tarball with the README's install command (the
// package's name replaced by the tarball's path), then `npm i -D typescript`, the README's
// tsconfig.json and main.ts, `npx tsc && node main.js`. Exit 1 unless dist/hostnet.k8s.yaml holds
// the example's firewall. It needs the npm registry (the peer dependencies and TypeScript).
'use strict';
const { execFileSync } = require('child_process');
const { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } = require('fs');
const { tmpdir } = require('os');
const { join } = require('path');

const root = join(__dirname, '..');
const HEADING = '\n## Using the constructs in your own cdk8s app\n';
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const start = readme.indexOf(HEADING);
if (start < 0) throw new Error(`README.md has no section${HEADING.trimEnd()}`);
const section = readme.slice(start, readme.indexOf('\n## ', start + 1));
const block = (language) => {
  const match = new RegExp('```' + language + '\\n([\\s\\S]*?)```').exec(section);
  if (!match) throw new Error(`README.md: no ${language} block under${HEADING.trimEnd()}`);
  return match[1];
};

const dir = mkdtempSync(join(tmpdir(), 'hostnet-install-'));
const run = (cwd, command, args) => {
  console.log(`$ ${[command, ...args].join(' ')}`);
  return execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
};
try {
  // stdout also carries what a compile in prepack prints: the JSON report starts at a line "["
  const packed = run(root, 'npm', ['pack', '--json', '--pack-destination', dir]);
  const [report] = JSON.parse(packed.slice(packed.search(/^\[/m)));
  const tarball = join(dir, report.filename);

  const app = join(dir, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'readme-app', version: '1.0.0', private: true }, null, 2));
  const install = block('sh').trim().split(/\s+/);
  if (install.slice(0, 3).join(' ') !== 'npm i cdk8s-hostnet') throw new Error(`README.md: the install command is "${install.join(' ')}", expected npm i cdk8s-hostnet ...`);
  run(app, 'npm', [...install.slice(1).map((word) => (word === 'cdk8s-hostnet' ? tarball : word)), '--no-audit', '--no-fund']);
  run(app, 'npm', ['i', '-D', 'typescript', '--no-audit', '--no-fund']);
  writeFileSync(join(app, 'tsconfig.json'), block('json'));
  writeFileSync(join(app, 'main.ts'), block('ts'));
  console.log(run(app, 'npm', ['ls', '--depth=0']).trim());
  run(app, 'npx', ['tsc']);
  run(app, 'node', ['main.js']);

  const manifests = readFileSync(join(app, 'dist', 'hostnet.k8s.yaml'), 'utf8');
  for (const expected of ['kind: DaemonSet', '--comment ntp', '198.51.100.53']) {
    if (!manifests.includes(expected)) throw new Error(`dist/hostnet.k8s.yaml of the README's app lacks ${JSON.stringify(expected)}`);
  }
  console.log(`the README's app, built against ${report.filename} as installed from it, wrote dist/hostnet.k8s.yaml`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
