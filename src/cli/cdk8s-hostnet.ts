#!/usr/bin/env node
// The `cdk8s-hostnet` command of the npm package (package.json "bin"): explain, diff and test a
// synthesized dist/ offline.
import { runCli } from './run-cli';

// exitCode, not process.exit(): a piped stdout is written asynchronously and exit would cut it off
process.exitCode = runCli(process.argv.slice(2), {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
});
