// Two NodeFirewalls of different names on one node, on a real kernel: the apply.sh/remove.sh of each,
// extracted from one synthesized app, run in one namespace-node. Each owns its own chains, sets and
// table, so a packet passes only if both policies allow it, and each is removable alone.
// Expectations are written from the spec (names, flows), not computed by the library.
import { Testing } from 'cdk8s';
import { ProbeRequest, describeProbe, probeMany } from './probe';
import { describeE2e } from './require-root';
import { normaliseSave } from './ruleset';
import { ADDR, IptablesVariant, Topology } from './topology';
import { FirewallRuleProps, LinuxBackend, NodeFirewall, PortRange, Protocol, RuleAction, TrafficScope } from '../../src';
import { parseClusterConfig } from '../../src/app/cluster-config';
import { ClusterProfiles } from '../../src/profiles/cluster-profiles';
import { E2E_OVERRIDES, linuxScripts } from '../util/synth';

interface Backend {
  readonly label: string;
  readonly iptables: IptablesVariant;
  readonly linuxBackend: LinuxBackend;
  readonly env: string;
  readonly prefix: string;
}
const BACKENDS: Backend[] = [
  { label: 'iptables-legacy', iptables: 'legacy', linuxBackend: LinuxBackend.IPTABLES, env: 'HOSTNET_IPTABLES_MODE=legacy', prefix: 'l' },
  { label: 'iptables-nft', iptables: 'nft', linuxBackend: LinuxBackend.IPTABLES, env: 'HOSTNET_IPTABLES_MODE=nft', prefix: 'n' },
  { label: 'nftables', iptables: 'nft', linuxBackend: LinuxBackend.NFTABLES, env: '', prefix: 't' },
];

/** udp/5000 from the node to these addresses: two addresses, so each policy needs an address set. */
const egress5000 = (destinations: string[]): FirewallRuleProps => ({
  action: RuleAction.ALLOW,
  protocol: Protocol.UDP,
  scopes: [TrafficScope.NODE_EGRESS],
  destinations,
  destinationPorts: [PortRange.of(5000)],
  description: 'udp 5000 to two hosts',
});

/**
 * Firewall A keeps the default name (the identifiers of earlier releases); B has its own. Both deny
 * UDP by default; A allows udp/5000 to ext's undeclared address and node B, B to that address and
 * ext's DNS address.
 */
function synthTwo(backend: Backend) {
  const profile = parseClusterConfig('e2e.yaml', E2E_OVERRIDES, ClusterProfiles.byName('k2s')).profile;
  const chart = Testing.chart();
  new NodeFirewall(chart, 'A', { profile, linuxBackend: backend.linuxBackend })
    .addRule('to-b-and-99', egress5000([ADDR.nodeB, ADDR.extUndeclared]));
  new NodeFirewall(chart, 'B', { profile, linuxBackend: backend.linuxBackend, name: 'edge-pool', namespace: 'hostnet-edge', metricsPort: 9848 })
    .addRule('to-53-and-99', egress5000([ADDR.extDns, ADDR.extUndeclared]));
  const objects = Testing.synth(chart);
  return { a: linuxScripts(objects, 'hostnet'), b: linuxScripts(objects, 'edge-pool') };
}

type Flow = [string, ProbeRequest, boolean];
const FLOWS: Flow[] = [
  ['udp 5000 to .99: both allow', { from: 'nodeA', proto: 'udp', to: ADDR.extUndeclared, port: 5000 }, true],
  ['udp 5000 to node B: A allows, B denies', { from: 'nodeA', proto: 'udp', to: ADDR.nodeB, port: 5000 }, false],
  ['udp 5000 to ext DNS address: B allows, A denies', { from: 'nodeA', proto: 'udp', to: ADDR.extDns, port: 5000 }, false],
  ['DNS via the Service IP: a failsafe of both', { from: 'nodeA', proto: 'udp', to: ADDR.clusterDns, port: 53 }, true],
  ['tcp 5000 to .99: tcp allowed by both', { from: 'nodeA', proto: 'tcp', to: ADDR.extUndeclared, port: 5000 }, true],
];

for (const backend of BACKENDS) {
  describeE2e(`two NodeFirewalls on one node (${backend.label})`, () => {
    let topo: Topology;
    const scripts = synthTwo(backend);
    const run = (script: string, args = '') => topo.exec('nodeA', `${backend.env} sh -s ${args}`, { input: script });
    const runOk = async (script: string, args = '') => {
      const result = await run(script, args);
      if (result.code !== 0) throw new Error(`script failed (${args || 'apply/remove'}): ${result.stderr}`);
      return result.stdout;
    };
    const sh = async (command: string) => (await topo.execOk('nodeA', command)).stdout;
    const stripCounters = (text: string) => text.replace(/counter packets \d+ bytes \d+/g, 'counter');

    /** Everything on the node that filters: both iptables flavours and families, every ipset, the whole nft ruleset. */
    const nodeRuleset = async () => {
      const saves = [];
      for (const flavour of ['legacy', 'nft']) {
        for (const family of ['iptables', 'ip6tables']) saves.push(normaliseSave(await sh(`${family}-${flavour}-save 2>/dev/null || true`)));
      }
      // nft tables of the inet family (ours; iptables-nft's ip/ip6 tables are compared through iptables-save
      // above, where a table of empty built-in chains, which the first ip6tables call leaves, counts as absent)
      const inet = (await sh('nft list tables')).split('\n').filter((t) => t.startsWith('table inet '));
      const tables = [];
      for (const table of inet) tables.push(stripCounters(await sh(`nft list ${table}`)));
      return `${saves.join('\n')}\nsets:\n${await sh('ipset list')}\nnft:\n${tables.join('\n')}`;
    };
    /** Firewall B's own objects, by the names the spec gives them: chains and jumps, sets with members, its table. */
    const objectsOfB = async () => {
      if (backend.linuxBackend === LinuxBackend.NFTABLES) return stripCounters(await sh('nft list table inet hostnet-edge-pool'));
      const lines = [];
      for (const family of ['iptables', 'ip6tables']) {
        lines.push(...normaliseSave(await sh(`${family}-${backend.iptables}-save -t filter`)).split('\n')
          .filter((l) => /(^:|^-A | -j )HOSTNET-EDGE-POOL-(INPUT|OUTPUT|FORWARD)( |$)/.test(l)));
      }
      const sets = (await sh('ipset list -n')).split('\n').filter((n) => n.startsWith('hn.edge-pool.'));
      for (const set of sets) lines.push((await sh(`ipset list ${set}`)).replace(/^(Size in memory|References): .*$/gm, ''));
      return lines.join('\n');
    };
    /** Whether firewall A's objects (the default name's) are on the node. */
    const hasObjectsOfA = async () => {
      if (backend.linuxBackend === LinuxBackend.NFTABLES) return (await topo.exec('nodeA', 'nft list table inet hostnet')).code === 0;
      const save = await sh(`iptables-${backend.iptables}-save -t filter`);
      return /^:HOSTNET-(INPUT|OUTPUT|FORWARD) /m.test(save) || /^hostnet-/m.test(await sh('ipset list -n'));
    };
    const probe = async (flows: Flow[]) => {
      await sh('conntrack -F 2>/dev/null || true');
      const results = await probeMany(topo, flows.map(([, request]) => request));
      return flows.map(([label, request, expected], i) =>
        `${results[i] === expected ? 'ok  ' : 'FAIL'} ${expected ? 'pass' : 'drop'} ${label} (${describeProbe(request.from, request)})`)
        .filter((line) => line.startsWith('FAIL'));
    };

    beforeAll(async () => {
      topo = await Topology.create({ prefix: `hn2${backend.prefix}`, iptables: backend.iptables, udpPorts: [5000] });
    });
    afterAll(() => topo?.destroy());

    test('the two own disjoint objects: B uses its own chains, sets or table', () => {
      if (backend.linuxBackend === LinuxBackend.NFTABLES) {
        expect(scripts.b.apply).toContain('table inet hostnet-edge-pool {');
        expect(scripts.b.apply).not.toMatch(/table inet hostnet[ {]/);
      } else {
        expect(scripts.b.apply).toContain('jump="-A $builtin -m comment --comment cdk8s-hostnet-edge-pool -j $chain"');
        expect(scripts.b.apply).toContain('OUTPUT:HOSTNET-EDGE-POOL-OUTPUT');
        expect(scripts.b.apply).toMatch(/-m set --match-set hn\.edge-pool\.4[0-9a-f]{6,} dst /);
        expect(scripts.b.apply).not.toMatch(/HOSTNET-(INPUT|OUTPUT|FORWARD)\b/);
      }
    });

    test.each([
      ['A (the default name) first', 'a', 'b'],
      ['B first', 'b', 'a'],
    ] as const)('both apply, a packet passes only if both allow it; removing %s leaves the other byte-identical; removing both restores the node', async (_label, first, second) => {
      // GIVEN the node before any firewall
      const before = await nodeRuleset();
      const byKey = { a: scripts.a, b: scripts.b };

      // WHEN A is applied, then B (B's jumps go first in each built-in chain)
      await runOk(scripts.a.apply);
      const stateOfA = await runOk(scripts.a.apply, 'state');
      await runOk(scripts.b.apply);

      // THEN A's drift check does not see B's objects, and every flow is judged by both
      expect(await runOk(scripts.a.apply, 'state')).toBe(stateOfA);
      expect(await probe(FLOWS)).toEqual([]);
      // and B's metrics count only B's rules, labelled with its name
      const metricsOfB = await runOk(scripts.b.apply, 'metrics');
      expect(metricsOfB).toMatch(/^hostnet_rule_packets_total\{rule="to-53-and-99",action="allow",direction="egress",family="ipv4",firewall="edge-pool"\} \d+$/m);
      expect(metricsOfB).not.toContain('to-b-and-99');

      // WHEN the first is removed
      const bBefore = await objectsOfB();
      await runOk(byKey[first].remove);

      // THEN the other's objects are exactly as they were, and it alone still enforces
      if (first === 'a') {
        expect(await objectsOfB()).toBe(bBefore);
        expect(await hasObjectsOfA()).toBe(false);
        expect(await probe([
          ['udp 5000 to ext DNS address: only B, which allows', FLOWS[2][1], true],
          ['udp 5000 to node B: B still denies', FLOWS[1][1], false],
        ])).toEqual([]);
      } else {
        expect(await hasObjectsOfA()).toBe(true);
        expect(await runOk(scripts.a.apply, 'state')).toBe(stateOfA);
        expect(await probe([
          ['udp 5000 to node B: only A, which allows', FLOWS[1][1], true],
          ['udp 5000 to ext DNS address: A still denies', FLOWS[2][1], false],
        ])).toEqual([]);
      }

      // WHEN the other is removed THEN the node is as before the install
      await runOk(byKey[second].remove);
      expect(await nodeRuleset()).toBe(before);
    });
  });
}
