// Lints generated shell scripts with shellcheck, for tests.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/**
 * Runs `shellcheck -s sh -f gcc` on a script: POSIX sh, because the scripts run under dash
 * (the only shell in distroless-iptables), so bashisms must be findings.
 * @param name shown instead of the temp file's path in findings, e.g. `node-firewall.sh`
 * @returns one line per finding, e.g. `node-firewall.sh:3:6: note: Double quote to prevent globbing and word splitting. [SC2086]`; empty if clean
 */
export function shellcheck(script: string, name: string): string[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shellcheck-'));
  const file = path.join(dir, name.replace(/[^\w.-]/g, '_'));
  try {
    fs.writeFileSync(file, script);
    const result = spawnSync('shellcheck', ['-s', 'sh', '-f', 'gcc', file], { encoding: 'utf8' });
    if ((result.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
      return shellcheckMissing();
    }
    if (result.error) throw result.error;
    // Exit status 0: clean, 1: findings, anything else: shellcheck itself failed.
    if (result.status !== 0 && result.status !== 1) {
      throw new Error(`shellcheck failed (exit ${result.status}): ${result.stderr.trim()}`);
    }
    return result.stdout.split('\n')
      .filter(line => line.trim() !== '')
      .map(line => line.split(file).join(name));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// A missing linter must never look like a clean script. In CI that is a broken build image, so
// throw; on a developer machine, return a finding so that every script test fails and says why,
// instead of crashing unrelated assertions.
function shellcheckMissing(): string[] {
  const message = 'shellcheck is not installed (apt-get install shellcheck): generated scripts cannot be checked';
  if (process.env.CI === 'true') {
    throw new Error(message);
  }
  return [message];
}
