// Skip/fail policy for real-kernel tests: they need root, `ip netns` and the firewall tools.
// Locally a missing prerequisite skips loudly; on CI it fails, so CI can never go green by skipping.
import { execFileSync } from 'node:child_process';

const REQUIRED_TOOLS = ['ip', 'iptables-legacy-restore', 'iptables-nft-restore', 'nft', 'ipset', 'conntrack', 'busybox', 'dnsmasq', 'setpriv', 'promtool', 'prometheus-node-exporter'];

function computeSkipReason(): string | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
    return 'E2E tests need root (they create network namespaces and firewall rules); not running as uid 0';
  }
  const missing = REQUIRED_TOOLS.filter((tool) => !commandSucceeds('sh', ['-c', `command -v ${tool}`]));
  if (missing.length > 0) {
    return `E2E tests need these commands, missing: ${missing.join(', ')}`;
  }
  const probeNs = `hnchk${process.pid}`;
  if (!commandSucceeds('ip', ['netns', 'add', probeNs])) {
    return '`ip netns add` failed: network namespaces are not usable here (container without CAP_SYS_ADMIN?)';
  }
  if (!commandSucceeds('ip', ['netns', 'del', probeNs])) {
    return `\`ip netns del ${probeNs}\` failed: network namespaces are not usable here`;
  }
  return undefined;
}

function commandSucceeds(file: string, args: string[]): boolean {
  try {
    execFileSync(file, args, { stdio: 'ignore', timeout: 10000 });
    return true;
  } catch {
    return false;
  }
}

/** Why the e2e tests cannot run here, or undefined when they can. Computed once per jest worker. */
export const e2eSkipReason: string | undefined = computeSkipReason();

/** `describe` for real-kernel suites: runs, skips loudly (local), or fails (CI=true) per e2eSkipReason. */
export function describeE2e(name: string, fn: () => void): void {
  if (e2eSkipReason === undefined) {
    describe(name, fn);
  } else if (process.env.CI === 'true') {
    describe(name, () => {
      test('e2e prerequisites are met (CI must not skip)', () => {
        throw new Error(e2eSkipReason);
      });
    });
  } else {
    console.warn(`\n!!!!! SKIPPING E2E SUITE "${name}" !!!!!\n!!!!! ${e2eSkipReason}\n`);
    describe.skip(name, fn);
  }
}
