#!/usr/bin/env node
// Checks the public API as jsii compiled it (.jsii, so run after `npx projen compile`): every type
// and every member has a one-line summary (API.md and the other languages show it), and API.md is
// what jsii-docgen makes of it today. Exit 1, naming each problem.
'use strict';
const { execFileSync } = require('child_process');
const { mkdtempSync, readFileSync, rmSync } = require('fs');
const { tmpdir } = require('os');
const { join } = require('path');

const root = join(__dirname, '..');
const assembly = JSON.parse(readFileSync(join(root, '.jsii'), 'utf8'));
const problems = [];

const summary = (x) => x && x.docs && x.docs.summary && x.docs.summary.trim();
for (const [fqn, type] of Object.entries(assembly.types)) {
  if (!summary(type)) problems.push(`${fqn}: no doc summary`);
  if (type.initializer && !summary(type.initializer)) problems.push(`${fqn} constructor: no doc summary`);
  for (const member of [...(type.members ?? []), ...(type.properties ?? []), ...(type.methods ?? [])]) {
    if (!summary(member)) problems.push(`${fqn}.${member.name}: no doc summary`);
  }
}

const dir = mkdtempSync(join(tmpdir(), 'hostnet-api-'));
try {
  const generated = join(dir, 'API.md');
  execFileSync(join(root, 'node_modules', '.bin', 'jsii-docgen'), ['-o', generated], { cwd: root, stdio: 'inherit' });
  const want = readFileSync(generated, 'utf8').split('\n');
  let have;
  try {
    have = readFileSync(join(root, 'API.md'), 'utf8').split('\n');
  } catch {
    have = [];
  }
  const line = want.findIndex((text, i) => text !== have[i]);
  if (line >= 0 || have.length !== want.length) {
    const at = line >= 0 ? line : Math.min(have.length, want.length);
    problems.push(`API.md is not what jsii-docgen makes of the current API (first difference at line ${at + 1}: `
      + `${JSON.stringify(have[at] ?? '<end>')} instead of ${JSON.stringify(want[at] ?? '<end>')}); run npx projen compile && npx projen docgen, and commit API.md`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const types = Object.keys(assembly.types).length;
if (problems.length > 0) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log(`public API: ${types} types, each with its members documented; API.md is current`);
