import { hostIdentifiers, hostNames, hostNamesProblem } from '../../src/dialects/host-names';
import { renderIptables } from '../../src/dialects/iptables';
import { compilePolicy } from '../../src/policy/compile-policy';
import { FirewallPolicy } from '../../src/policy/firewall-policy';
import { PortRange } from '../../src/policy/port-range';
import { Protocol, RuleAction, TrafficScope } from '../../src/policy/protocol';

describe('what a NodeFirewall owns on a node, by name', () => {
  test('the default name keeps the identifiers of earlier releases, exactly', () => {
    expect(hostNames('hostnet')).toEqual({
      name: 'hostnet',
      chains: { input: 'HOSTNET-INPUT', output: 'HOSTNET-OUTPUT', forward: 'HOSTNET-FORWARD' },
      jumpTag: 'cdk8s-hostnet',
      setPrefix: 'hostnet-',
      nftTable: 'hostnet',
      windowsGroup: 'cdk8s-hostnet',
      windowsRulePrefix: 'cdk8s-hostnet-',
      linuxGood: 'good-apply.sh',
      windowsGood: 'good-apply.ps1',
      windowsPods: 'pods',
      metricsFile: 'hostnet.prom',
      metricsLabel: '',
    });
  });

  test('another name owns identifiers derived from it', () => {
    expect(hostNames('edge-pool')).toEqual({
      name: 'edge-pool',
      chains: { input: 'HOSTNET-EDGE-POOL-INPUT', output: 'HOSTNET-EDGE-POOL-OUTPUT', forward: 'HOSTNET-EDGE-POOL-FORWARD' },
      jumpTag: 'cdk8s-hostnet-edge-pool',
      setPrefix: 'hn.edge-pool.',
      nftTable: 'hostnet-edge-pool',
      windowsGroup: 'cdk8s-hostnet-edge-pool',
      windowsRulePrefix: 'cdk8s-hostnet-edge-pool.',
      linuxGood: 'good-apply-edge-pool.sh',
      windowsGood: 'good-apply-edge-pool.ps1',
      windowsPods: 'pods-edge-pool',
      metricsFile: 'hostnet-edge-pool.prom',
      metricsLabel: 'firewall="edge-pool"',
    });
  });

  test('a name whose chain would pass the kernel\'s 28 characters is refused; 12 characters fit', () => {
    expect(hostNamesProblem('abcdefghijkl')).toBeUndefined();
    expect(hostNames('abcdefghijkl').chains.forward).toHaveLength(28);
    expect(hostNamesProblem('abcdefghijklm')).toBe('is longer than 12 characters, so its iptables chain HOSTNET-ABCDEFGHIJKLM-FORWARD would pass the kernel\'s 28; use a shorter name');
    // the default is longer than nothing: it keeps its old names
    expect(hostNamesProblem('hostnet')).toBeUndefined();
  });

  test('ipset names of the longest name fit 31 characters with the scratch suffix of the largest pid', () => {
    // GIVEN a policy that needs an address set and a port set, under the longest allowed name
    const policy = FirewallPolicy.denyUdp().addRule('lists', {
      action: RuleAction.ALLOW,
      protocol: Protocol.UDP,
      scopes: [TrafficScope.NODE_EGRESS],
      description: 'lists',
      destinations: ['192.0.2.1', '192.0.2.2'],
      destinationPorts: Array.from({ length: 20 }, (_, i) => PortRange.of(1000 + 2 * i)),
    });
    const { apply } = renderIptables(compilePolicy('test', policy, []), 'abcdefghijkl');
    // THEN
    const names = [...new Set([...apply.matchAll(/--match-set (\S+) /g)].map((m) => m[1]))];
    expect(names).toHaveLength(2);
    for (const name of names) {
      expect(name.startsWith('hn.abcdefghijkl.')).toBe(true);
      expect(`${name}-4194304`.length).toBeLessThanOrEqual(31);
    }
  });

  test('no two names share an identifier, and no set prefix starts another firewall\'s set names', () => {
    // names chosen to collide under a careless mapping: prefixes of each other, scope and kind words
    const names = ['hostnet', 'a', 'a-4', 'a-p', 'input', 'edge', 'edge-input', 'hostnet-edge', '4', 'p', 'forward'];
    for (const one of names) {
      for (const other of names) {
        if (one === other) continue;
        const mine = hostNames(one);
        const theirs = hostNames(other);
        expect(hostIdentifiers(mine).filter((id) => hostIdentifiers(theirs).includes(id))).toEqual([]);
        // cleanup destroys sets that start with the prefix: another firewall's sets must not
        expect(`${theirs.setPrefix}4`.startsWith(mine.setPrefix)).toBe(false);
        expect(`${theirs.setPrefix}4-0123456789`.startsWith(mine.setPrefix)).toBe(false);
      }
    }
  });
});
