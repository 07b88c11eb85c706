// Proves the e2e harness itself on a real kernel, with NO firewall installed: everything the
// topology promises is reachable, and the probes really do report closed ports and drops.
import { listNamespaces } from './netns';
import { ProbeSpec, describeProbe, probe, probeDetailed, probeMany } from './probe';
import { describeE2e } from './require-root';
import { ADDR, IptablesVariant, Role, Topology } from './topology';

const reachable: Array<[Role, ProbeSpec]> = [
  ['podA', { proto: 'udp', to: ADDR.clusterDns, port: 53 }], // DNAT on nodeA, CoreDNS pod on nodeB
  ['podA', { proto: 'tcp', to: ADDR.clusterDns, port: 53 }],
  ['podA', { proto: 'udp', to: ADDR.extDns, port: 53 }],
  ['nodeA', { proto: 'udp', to: ADDR.clusterDns, port: 53 }], // nat OUTPUT path
  ['nodeA', { proto: 'tcp', to: ADDR.clusterDns, port: 53 }],
  ['nodeA', { proto: 'udp', to: ADDR.extUndeclared, port: 5000 }],
  ['nodeB', { proto: 'udp', to: ADDR.nodeA, port: 8472 }],
  ['podA', { proto: 'udp', to: ADDR.podB, port: 5000 }],
  ['podB', { proto: 'tcp', to: ADDR.podA, port: 5000 }],
  ['podA', { proto: 'udp', to: ADDR.nodeLocalDns, port: 53 }], // NOTRACKed, local delivery on nodeA
  ['nodeA', { proto: 'udp', to: ADDR.nodeLocalDns, port: 53 }],
  ['nodeA', { proto: 'tcp', to: ADDR.nodeLocalDns, port: 53 }],
  ['ext', { proto: 'udp', to: ADDR.nodeA, port: 5000, srcAddr: ADDR.extUndeclared, srcPort: 53 }],
];

for (const variant of ['legacy', 'nft'] as IptablesVariant[]) {
  describeE2e(`e2e harness without firewall (iptables-${variant})`, () => {
    const prefix = `hnh${variant[0]}`;
    let topo: Topology;

    beforeAll(async () => {
      topo = await Topology.create({ prefix, iptables: variant, nodeLocalDns: true });
    });
    afterAll(() => topo?.destroy());

    test('the kube-proxy and NodeLocal DNSCache look-alikes are installed', async () => {
      const save = (await topo.execOk('nodeA', `${topo.iptables}-save`)).stdout;
      expect(save).toContain('-A KUBE-SERVICES -d 198.18.64.10/32 -p udp');
      expect(save).toContain('kube-forward-marker');
      expect(save).toContain('-j NOTRACK');
    });

    test.each(reachable.map(([from, spec]) => [describeProbe(from, spec), from, spec] as const))(
      'reachable: %s', async (_label, from, spec) => {
        expect(await probeDetailed(topo, from, spec)).toMatchObject({ ok: true, detail: 'echo' });
      });

    test('a port without a listener is refused, not mistaken for an echo', async () => {
      expect(await probeDetailed(topo, 'podA', { proto: 'udp', to: ADDR.podB, port: 6000 }))
        .toMatchObject({ ok: false, detail: 'ECONNREFUSED' });
      expect(await probeDetailed(topo, 'podA', { proto: 'tcp', to: ADDR.podB, port: 6000 }))
        .toMatchObject({ ok: false, detail: 'ECONNREFUSED' });
    });

    test('probeMany keeps order and serialises probes sharing a source port', async () => {
      const dns = { proto: 'udp', to: ADDR.extDns, port: 53, srcPort: 40053 } as const;
      expect(await probeMany(topo, [
        { from: 'podA', ...dns },
        { from: 'podA', proto: 'udp', to: ADDR.podB, port: 6000 },
        { from: 'podA', ...dns },
        { from: 'nodeB', proto: 'tcp', to: ADDR.nodeA, port: 5000 },
      ])).toEqual([true, false, true, true]);
    });

    test('a dropped packet makes the probe fail within its timeout', async () => {
      await topo.execOk('nodeA', `${topo.iptables} -A FORWARD -p udp -j DROP`);
      const started = Date.now();
      expect(await probeDetailed(topo, 'podA', { proto: 'udp', to: ADDR.podB, port: 5000 }))
        .toMatchObject({ ok: false, detail: 'timeout' });
      expect(Date.now() - started).toBeLessThan(1000);
      // Only UDP is dropped: TCP through the same node still works.
      expect(await probe(topo, 'podA', { proto: 'tcp', to: ADDR.podB, port: 5000 })).toBe(true);
    });

    test('destroy is idempotent and removes every namespace', async () => {
      await topo.destroy();
      await topo.destroy();
      expect((await listNamespaces()).filter((ns) => ns.startsWith(`${prefix}-`))).toEqual([]);
    });
  });
}

describeE2e('e2e harness recovery', () => {
  test('create() clears what a crashed run left behind with the same prefix', async () => {
    // A run that dies before destroy(): its namespaces and responders stay behind.
    await Topology.create({ prefix: 'hnhr', iptables: 'nft', udpPorts: [], tcpPorts: [] });
    const fresh = await Topology.create({ prefix: 'hnhr', iptables: 'nft', udpPorts: [], tcpPorts: [] });
    try {
      expect(await probe(fresh, 'podA', { proto: 'udp', to: ADDR.clusterDns, port: 53 })).toBe(true);
      // Only one copy of each namespace, i.e. the crashed run's are gone.
      expect((await listNamespaces()).filter((ns) => ns.startsWith('hnhr-')).sort())
        .toEqual(['ext', 'lan', 'nodeA', 'nodeB', 'podA', 'podB'].map((r) => `hnhr-${r}`));
    } finally {
      await fresh.destroy();
    }
  });
});
