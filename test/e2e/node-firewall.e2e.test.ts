// The Linux NodeFirewall on a real kernel: the apply.sh/remove.sh extracted from the synthesized
// ConfigMap run inside two host-gw "nodes" (network namespaces), and real UDP/TCP packets show
// what passes. Expectations are written from the spec, per profile, not computed by the library.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProbeRequest, describeProbe, probeMany } from './probe';
import { describeE2e } from './require-root';
import { normaliseSave as normalise } from './ruleset';
import { ADDR, IptablesVariant, Role, Topology } from './topology';
import { E2E_OVERRIDES, PROFILE_NAMES, linuxScripts, synthProfile } from '../util/synth';

/** UDP each profile's own infrastructure needs between Linux nodes (FIELD-NOTES, per profile). */
const INFRA_UDP: Record<string, number[]> = {
  'k2s': [],
  'k0s-kube-router': [],
  'k0s-calico': [4789],
  'cfke-cilium': [8472, 51820, 51871],
  'generic': [],
};
const OVERLAY_PORTS = [4789, 8472, 51820, 51871];

type Case = [string, ProbeRequest, boolean];
const udp = (from: Role, to: string, port: number, extra: object = {}): ProbeRequest => ({ from, proto: 'udp', to, port, ...extra });
const tcp = (from: Role, to: string, port: number): ProbeRequest => ({ from, proto: 'tcp', to, port });

function trafficMatrix(profile: string): Case[] {
  return [
    ['pod DNS via the Service IP, DNATed to CoreDNS on the other node', udp('podA', ADDR.clusterDns, 53), true],
    ['pod DNS over TCP via the Service IP', tcp('podA', ADDR.clusterDns, 53), true],
    ['pod DNS straight to the CoreDNS pod', udp('podA', ADDR.podB, 53), true],
    ['pod DNS to the declared upstream', udp('podA', ADDR.extDns, 53), true],
    ['pod DNS to an undeclared address', udp('podA', ADDR.extUndeclared, 53), false],
    ['node DNS via the Service IP', udp('nodeA', ADDR.clusterDns, 53), true],
    ['node DNS to the declared upstream', udp('nodeA', ADDR.extDns, 53), true],
    ['node DNS to an undeclared address', udp('nodeA', ADDR.extUndeclared, 53), false],
    ['node UDP out to another port', udp('nodeA', ADDR.extUndeclared, 5000), false],
    ['UDP into the node', udp('ext', ADDR.nodeA, 5000, { srcAddr: ADDR.extUndeclared }), false],
    ['UDP into the node claiming source port 53', udp('ext', ADDR.nodeA, 5000, { srcAddr: ADDR.extUndeclared, srcPort: 53 }), false],
    ['UDP pod to pod across nodes (forwarded)', udp('podA', ADDR.podB, 5000), false],
    ['UDP from outside into a pod (forwarded)', udp('ext', ADDR.podA, 5000, { srcAddr: ADDR.extUndeclared }), false],
    ['TCP from a pod to outside', tcp('podA', ADDR.extUndeclared, 5000), true],
    ['TCP pod to pod across nodes', tcp('podB', ADDR.podA, 5000), true],
    ['TCP into the node', tcp('ext', ADDR.nodeA, 5000), true],
    ...OVERLAY_PORTS.flatMap((port): Case[] => [
      [`infrastructure UDP ${port} node B to node A`, udp('nodeB', ADDR.nodeA, port), INFRA_UDP[profile].includes(port)],
      [`infrastructure UDP ${port} node A to node B`, udp('nodeA', ADDR.nodeB, port), INFRA_UDP[profile].includes(port)],
    ]),
  ];
}

/** How a node enforces the policy: the e2e matrix runs once per backend. */
interface Backend {
  readonly label: string;
  /** The iptables flavour of the kube-proxy look-alike (and of our rules, for the iptables backend). */
  readonly iptables: IptablesVariant;
  readonly overrides: Record<string, unknown>;
  readonly env: string;
  /** Suffix of the test's namespace prefixes: unique per backend, so jest workers never collide. */
  readonly prefix: string;
}
const BACKENDS: Backend[] = [
  { label: 'iptables-legacy', iptables: 'legacy', overrides: {}, env: 'HOSTNET_IPTABLES_MODE=legacy', prefix: 'l' },
  { label: 'iptables-nft', iptables: 'nft', overrides: {}, env: 'HOSTNET_IPTABLES_MODE=nft', prefix: 'n' },
  { label: 'nftables', iptables: 'nft', overrides: { linuxBackend: 'nftables' }, env: '', prefix: 't' },
];

for (const backend of BACKENDS) {
  describeE2e(`Linux NodeFirewall on a real kernel (${backend.label})`, () => {
    let topo: Topology;
    const variant = backend.iptables;
    const env = backend.env;
    const synth = (profile: string, overrides: Record<string, unknown> = {}) =>
      linuxScripts(synthProfile(profile, { ...E2E_OVERRIDES, ...backend.overrides, ...overrides }));
    const ruleSet = async (role: Role) => {
      const v4 = (await topo.execOk(role, `iptables-${variant}-save`)).stdout;
      const v6 = (await topo.execOk(role, `ip6tables-${variant}-save`)).stdout;
      const sets = (await topo.execOk(role, 'ipset list -n')).stdout;
      // iptables-nft's own tables show in iptables-save above; our nftables table only here
      const nft = backend.label !== 'nftables' ? ''
        : (await topo.execOk(role, 'nft list table inet hostnet 2>/dev/null || true')).stdout.replace(/counter packets \d+ bytes \d+/g, 'counter');
      return `${normalise(v4)}\n${normalise(v6)}\nsets:\n${sets}\nnft:\n${nft}`;
    };
    const runScript = (role: Role, script: string, extraEnv = '') => topo.exec(role, `${env} ${extraEnv} sh -s`, { input: script });
    const applyOk = async (role: Role, script: string) => {
      const result = await runScript(role, script);
      if (result.code !== 0) throw new Error(`apply.sh failed in ${role}: ${result.stderr}`);
      return result;
    };

    beforeAll(async () => {
      topo = await Topology.create({ prefix: `hnf${backend.prefix}`, iptables: variant, udpPorts: [5000, ...OVERLAY_PORTS] });
    });
    afterAll(() => topo?.destroy());

    describe.each(PROFILE_NAMES)('profile %s', (profile) => {
      const scripts = synth(profile);
      const before: Record<string, string> = {};

      beforeAll(async () => {
        for (const node of ['nodeA', 'nodeB'] as Role[]) {
          before[node] = await ruleSet(node);
          await applyOk(node, scripts.apply);
        }
      });

      test('traffic matrix', async () => {
        const cases = trafficMatrix(profile);
        const results = await probeMany(topo, cases.map(([, request]) => request));
        const table = cases.map(([label, request, expected], i) =>
          `${results[i] === expected ? 'ok  ' : 'FAIL'} ${expected ? 'allow' : 'block'} ${label} (${describeProbe(request.from, request)})`);
        expect(table.filter((line) => line.startsWith('FAIL'))).toEqual([]);
      });

      test('ten applies leave the same rules as one', async () => {
        const once = await ruleSet('nodeA');
        for (let i = 0; i < 9; i++) await applyOk('nodeA', scripts.apply);
        expect(await ruleSet('nodeA')).toEqual(once);
        if (backend.label === 'nftables') expect(once.match(/table inet hostnet/g)).toHaveLength(1);
        else expect(once.match(/-j HOSTNET-FORWARD/g)).toHaveLength(2); // one jump per family
      });

      test('chains owned by kube-proxy and the CNI are untouched', async () => {
        const save = (await topo.execOk('nodeA', `iptables-${variant}-save`)).stdout;
        expect(save).toContain('kube-forward-marker');
        expect(save).toMatch(/-A KUBE-SERVICES -d 198\.18\.64\.10\/32 -p udp .*DNAT/);
        expect(save).toMatch(/-A FORWARD .*-j KUBE-FORWARD/);
      });

      test('remove.sh restores the rule set from before the install', async () => {
        const after: Record<string, string> = {};
        for (const node of ['nodeA', 'nodeB'] as Role[]) {
          expect((await runScript(node, scripts.remove)).code).toBe(0);
          after[node] = await ruleSet(node);
        }
        expect(after).toEqual(before);
        expect(await probeMany(topo, [udp('podA', ADDR.podB, 5000)])).toEqual([true]);
      });
    });

    test('a failing apply leaves the previous rules in force', async () => {
      const current = synth('k2s');
      const next = synth('k2s', {
        exemptions: [{
          id: 'partner-syslog',
          protocol: 'udp',
          scopes: ['nodeEgress'],
          destinationPorts: ['514'],
          destinations: ['198.18.1.0/24', '198.18.2.0/24'],
          description: 'syslog to partner networks',
        }],
      });
      expect(next.apply).toMatch(/hostnet-4-|set daddr4-partner-syslog/); // the new policy needs a new address set
      await applyOk('nodeA', current.apply);
      const applied = await ruleSet('nodeA');
      const shim = mkdtempSync(join(tmpdir(), 'hostnet-shim-'));
      if (backend.label === 'nftables') {
        // the real nft gets the whole file plus one bad rule at its end: the transaction must not half-apply
        const nft = (await topo.execOk('nodeA', 'command -v nft')).stdout.trim();
        writeFileSync(join(shim, 'nft'), `#!/bin/sh\n{ cat; echo 'add rule inet hostnet input simulated failure'; } | ${nft} "$@"\n`, { mode: 0o755 });
      } else {
        // the IPv6 restore fails after the IPv4 one was checked: nothing may be committed
        writeFileSync(join(shim, `ip6tables-${variant}-restore`), '#!/bin/sh\ncat >/dev/null\necho simulated failure >&2\nexit 1\n', { mode: 0o755 });
      }
      const failed = await runScript('nodeA', next.apply, `PATH=${shim}:$PATH`);
      expect(failed.code).not.toBe(0);
      expect(failed.stderr).toMatch(/simulated failure|Error/);
      expect(await ruleSet('nodeA')).toEqual(applied);
      expect(await probeMany(topo, [udp('podA', ADDR.podB, 5000), udp('podA', ADDR.clusterDns, 53)])).toEqual([false, true]);
      await runScript('nodeA', current.remove);
    });

    test('NodeLocal DNSCache: NOTRACKed queries and replies still pass, other UDP to it does not', async () => {
      const local = await Topology.create({ prefix: `hnl${backend.prefix}`, iptables: variant, nodeLocalDns: true, udpPorts: [5000] });
      try {
        const scripts = synth('k2s', { nodeLocalDnsIp: ADDR.nodeLocalDns });
        const result = await local.exec('nodeA', `${env} sh -s`, { input: scripts.apply });
        expect(result.code).toBe(0);
        expect(await probeMany(local, [
          udp('podA', ADDR.nodeLocalDns, 53),
          udp('nodeA', ADDR.nodeLocalDns, 53),
          tcp('podA', ADDR.nodeLocalDns, 53),
          udp('podA', ADDR.extUndeclared, 53),
        ])).toEqual([true, true, true, false]);
      } finally {
        await local.destroy();
      }
    });

    /** Packets counted by the rules that would drop, on both nodes: the audit script's own metrics (action="would_drop"). */
    const wouldDrop = async (apply: string) => {
      let sum = 0;
      for (const node of ['nodeA', 'nodeB'] as Role[]) {
        const text = (await topo.execOk(node, `${env} sh -s metrics`, { input: apply })).stdout;
        for (const m of text.matchAll(/^hostnet_rule_packets_total\{[^}]*action="would_drop"[^}]*\} (\d+)$/gm)) sum += Number(m[1]);
      }
      return sum;
    };

    describe.each(PROFILE_NAMES)('audit mode, profile %s', (profile) => {
      const audit = synth(profile, { mode: 'audit' });
      const enforce = synth(profile);

      beforeAll(async () => {
        for (const node of ['nodeA', 'nodeB'] as Role[]) {
          await applyOk(node, audit.apply);
          // flows an earlier profile allowed must be judged anew, not pass as replies
          await topo.execOk(node, 'conntrack -F');
        }
        await topo.execOk('ext', 'conntrack -F');
      });

      test('every flow passes, and the audit counters rise for exactly the flows enforce drops', async () => {
        const rows: string[] = [];
        for (const [label, request, allowedWhenEnforced] of trafficMatrix(profile)) {
          const before = await wouldDrop(audit.apply);
          const [passed] = await probeMany(topo, [request]);
          const counted = (await wouldDrop(audit.apply)) > before;
          const ok = passed && counted === !allowedWhenEnforced;
          rows.push(`${ok ? 'ok  ' : 'FAIL'} ${passed ? 'passed' : 'DROPPED'}, ${counted ? 'counted as would_drop' : 'not counted'}: ${label}`);
        }
        expect(rows.filter((r) => r.startsWith('FAIL'))).toEqual([]);
        expect(rows.filter((r) => r.includes('counted as would_drop')).length).toBeGreaterThan(5);
      });

      test('enforce -> audit -> enforce converges, and remove.sh leaves no residue', async () => {
        await applyOk('nodeA', enforce.apply);
        const enforced = await ruleSet('nodeA');
        await applyOk('nodeA', audit.apply);
        expect(await ruleSet('nodeA')).not.toEqual(enforced);
        await applyOk('nodeA', enforce.apply);
        expect(await ruleSet('nodeA')).toEqual(enforced);
        for (const node of ['nodeA', 'nodeB'] as Role[]) expect((await runScript(node, audit.remove)).code).toBe(0);
        expect(await ruleSet('nodeA')).not.toMatch(/HOSTNET|table inet hostnet/);
      });
    });

    // the nftables backend has no flavour to pick
    if (backend.label !== 'nftables') {
      test('auto mode picks the iptables flavour kubelet uses', async () => {
        const scripts = synth('k2s');
        const other = variant === 'legacy' ? 'nft' : 'legacy';
        await topo.execOk('nodeB', `iptables-${variant} -t mangle -N KUBE-IPTABLES-HINT`);
        const legacyTables = () => topo.exec('nodeB', 'cat /proc/net/ip_tables_names /proc/net/ip6_tables_names 2>/dev/null').then((r) => r.stdout);
        const legacyBefore = await legacyTables();
        const result = await topo.exec('nodeB', 'HOSTNET_IPTABLES_MODE=auto sh -s', { input: scripts.apply });
        expect(result.stdout).toContain(`(iptables-${variant})`);
        // detecting the flavour created no legacy table, which every packet would cross (checked
        // first: iptables-legacy-save below creates one itself)
        if (variant === 'nft') expect(await legacyTables()).toBe(legacyBefore);
        expect((await topo.execOk('nodeB', `iptables-${variant}-save -t filter`)).stdout).toContain('HOSTNET-INPUT');
        expect((await topo.exec('nodeB', `iptables-${other}-save -t filter`)).stdout).not.toContain('HOSTNET-INPUT');
        await topo.exec('nodeB', `HOSTNET_IPTABLES_MODE=${variant} sh -s`, { input: scripts.remove });
      });
    }
  });
}
