// A policy too large for one ConfigMap is refused at app.synth(), naming the firewall's path,
// instead of being written to dist/ and rejected by the API server at apply time.
/* eslint-disable no-bitwise */ // building addresses is bit arithmetic
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Chart } from 'cdk8s';
import { ClusterProfiles, LinuxBackend, NodeFirewall, Protocol, RuleAction, TrafficScope } from '../src';

/** `count` distinct /28s from 100.64.0.0/10; each costs ~50 bytes in the iptables apply.sh. */
function cidrs(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `100.${64 + (i >>> 12)}.${(i >>> 4) & 255}.${(i & 15) * 16}/28`);
}

/** `count` /28s from 100.64.0.0/10 with a gap after each, so Windows cannot merge them into ranges. */
function scattered(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `100.${64 + ((i * 32) >>> 16)}.${((i * 32) >>> 8) & 255}.${(i * 32) & 255}/28`);
}

function synthWith(count: number, linuxBackend: LinuxBackend, list = cidrs): void {
  const outdir = mkdtempSync(join(tmpdir(), 'hostnet-size-'));
  try {
    const app = new App({ outdir });
    const firewall = new NodeFirewall(new Chart(app, 'hostnet'), 'Firewall', { profile: ClusterProfiles.k2s(), linuxBackend });
    firewall.addRule('bulk', { action: RuleAction.ALLOW, protocol: Protocol.UDP, scopes: [TrafficScope.NODE_EGRESS], destinations: list(count), description: 'many addresses' });
    app.synth();
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

test('25,000 addresses on the iptables backend exceed 1 MiB: app.synth() says which ConfigMap, how big, and what to do', () => {
  expect(() => synthWith(25_000, LinuxBackend.IPTABLES)).toThrow(new RegExp(
    '^Validation failed with the following errors:\\n  \\[hostnet/Firewall/Linux\\] ConfigMap hostnet-linux-scripts would hold 1,[0-9]{3} KiB, '
    + 'over the 1,024 KiB Kubernetes allows one object; list fewer, wider CIDRs, use the nftables backend \\(about half the bytes per address\\), '
    + 'or split the nodes across firewalls$'));
});

test('the same 25,000 addresses fit on the nftables backend', () => {
  expect(() => synthWith(25_000, LinuxBackend.NFTABLES)).not.toThrow();
});

test('on Windows the advice leaves out the Linux backend: 30,000 scattered addresses fit nftables, not Windows', () => {
  // policy.json (about 19 bytes an address) has a ConfigMap of its own and fits too
  expect(() => synthWith(30_000, LinuxBackend.NFTABLES, scattered)).toThrow(new RegExp(
    '^Validation failed with the following errors:\\n  \\[hostnet/Firewall/Windows\\] ConfigMap hostnet-windows-scripts would hold 1,[0-9]{3} KiB, '
    + 'over the 1,024 KiB Kubernetes allows one object; list fewer, wider CIDRs, or split the nodes across firewalls$'));
});
