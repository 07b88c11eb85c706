import * as fc from 'fast-check';
import { IncrementalPolicyCheck, compilePolicy } from '../../src/policy/compile-policy';
import { dnsRules, DnsResolver } from '../../src/policy/dns-resolver';
import { nodeFailsafes } from '../../src/policy/failsafes';
import { FirewallPolicy } from '../../src/policy/firewall-policy';
import { FirewallRuleProps, RuleOrigin } from '../../src/policy/firewall-rule';
import { NodeOs } from '../../src/policy/node-os';
import { PortRange } from '../../src/policy/port-range';
import { Protocol, RuleAction, TrafficScope } from '../../src/policy/protocol';

const PATH = 'app/hostnet/NodeFirewall';
const failsafes = () => [...nodeFailsafes(), ...dnsRules([DnsResolver.clusterService('10.96.0.10'), DnsResolver.upstream('192.0.2.53')])];
const allowUdp = (props: Partial<FirewallRuleProps> = {}): FirewallRuleProps => ({
  action: RuleAction.ALLOW, protocol: Protocol.UDP, scopes: [TrafficScope.NODE_EGRESS], description: 'test rule', ...props,
});
const compileWith = (id: string, props: FirewallRuleProps, policy = FirewallPolicy.denyUdp()) =>
  compilePolicy(PATH, policy.addRule(id, props), failsafes());

describe('compilePolicy', () => {
  test('default policy: deny udp, failsafes for DHCP and DNS, nothing for tcp', () => {
    // WHEN
    const compiled = compilePolicy(PATH, FirewallPolicy.denyUdp(), failsafes());
    // THEN
    expect(compiled.udp).toBe(RuleAction.DENY);
    expect(compiled.tcp).toBe(RuleAction.ALLOW);
    const ids = [...new Set(compiled.rules.map((r) => r.id))];
    // tcp DNS allows are dropped: tcp is allowed by default, so they would mean nothing
    expect(ids).toEqual(['dhcp-client-out', 'dhcp-client-in', 'dhcpv6-client-out', 'dhcpv6-client-in', 'dns-cluster-service', 'dns-upstream']);
    expect(compiled.rules.every((r) => r.action === RuleAction.ALLOW)).toBe(true);
  });

  test('rules split per family and scope; denies come before allows', () => {
    const policy = FirewallPolicy.denyUdp()
      .addRule('partners', allowUdp({ destinations: ['198.51.100.0/24', '2001:db8::/32'], scopes: [TrafficScope.NODE_EGRESS, TrafficScope.POD_FORWARD] }))
      .addRule('no-partner-syslog', { action: RuleAction.DENY, protocol: Protocol.UDP, scopes: [TrafficScope.NODE_EGRESS], destinations: ['198.51.100.7'], destinationPorts: [PortRange.of(514)], description: 'not syslog' });
    const rules = compilePolicy(PATH, policy, []).rules;
    expect(rules.map((r) => `${r.action} ${r.id} ${r.family} ${r.scope}`)).toEqual([
      'deny no-partner-syslog ipv4 nodeEgress',
      'allow partners ipv4 nodeEgress',
      'allow partners ipv4 podForward',
      'allow partners ipv6 nodeEgress',
      'allow partners ipv6 podForward',
    ]);
    expect(rules[1].destinations!.map((c) => c.text)).toEqual(['198.51.100.0/24']);
  });

  describe('FirewallPolicy.addRule refuses a bad rule on its own, where it is added, naming rule, field and value', () => {
    const POLICY = 'FirewallPolicy';
    test.each([
      ['a bad CIDR', allowUdp({ destinations: ['10.0.0.300/8'] }), `${POLICY}: rule 'r': destinations "10.0.0.300/8" is not an IP address or CIDR`],
      ['host bits set', allowUdp({ destinations: ['10.1.2.3/8'] }), `${POLICY}: rule 'r': destinations "10.1.2.3/8" has host bits set (did you mean 10.0.0.0/8?)`],
      ['a prefix too long', allowUdp({ sources: ['10.0.0.0/33'] }), `${POLICY}: rule 'r': sources "10.0.0.0/33" has an invalid prefix length (0-32 for ipv4)`],
      ['overlapping CIDRs', allowUdp({ destinations: ['10.0.0.0/8', '10.1.0.0/16'] }), `${POLICY}: rule 'r': destinations "10.1.0.0/16" overlaps 10.0.0.0/8 in the same list; list each address once`],
      ['port 0', allowUdp({ destinationPorts: [PortRange.of(0)] }), `${POLICY}: rule 'r': destinationPorts "0" must be within 1-65535`],
      ['port 65536', allowUdp({ destinationPorts: [PortRange.of(65536)] }), `${POLICY}: rule 'r': destinationPorts "65536" must be within 1-65535`],
      ['a reversed range', allowUdp({ destinationPorts: [PortRange.range(60, 50)] }), `${POLICY}: rule 'r': destinationPorts "60-50" has its start above its end`],
      ['overlapping ports', allowUdp({ destinationPorts: [PortRange.range(50, 60), PortRange.of(55)] }), `${POLICY}: rule 'r': destinationPorts "55" overlaps 50-60 in the same list`],
      ['ports on ICMP', { ...allowUdp(), protocol: Protocol.ICMP, action: RuleAction.DENY, destinationPorts: [PortRange.of(1)] }, `${POLICY}: rule 'r': destinationPorts ["1"] cannot be used with protocol icmp; ports exist for udp and tcp only`],
      ['no scopes', allowUdp({ scopes: [] }), `${POLICY}: rule 'r': scopes [] must list at least one scope`],
      ['an unknown scope', allowUdp({ scopes: ['sideways' as TrafficScope] }), `${POLICY}: rule 'r': scopes "sideways" must be one of nodeIngress, nodeEgress, podForward`],
      ['a two-line description', allowUdp({ description: 'a\nb' }), `${POLICY}: rule 'r': description "a\\nb" must be one line of 1-200 printable ASCII characters`],
      ['families that never meet', allowUdp({ sources: ['10.0.0.0/8'], destinations: ['2001:db8::/32'] }), `${POLICY}: rule 'r': sources ["10.0.0.0/8"] and destinations ["2001:db8::/32"] share no address family, so the rule can never match`],
      ['pre-DNAT match without destinations', allowUdp({ matchOriginalDestination: true }), `${POLICY}: rule 'r': matchOriginalDestination true needs destinations (the addresses clients use before DNAT)`],
    ])('%s', (_name, props, message) => {
      // GIVEN a policy
      const policy = FirewallPolicy.denyUdp();
      // WHEN the bad rule is added THEN addRule throws, before any compile, and the policy stays empty
      expect(() => policy.addRule('r', props as FirewallRuleProps)).toThrow(message);
      expect(policy.rules).toEqual([]);
    });

    test('a bad rule id', () => {
      expect(() => FirewallPolicy.denyUdp().addRule('Bad_Id', allowUdp())).toThrow(`${POLICY}: rule 'Bad_Id': id "Bad_Id" must be 1-48 lowercase letters, digits or dashes, starting and ending with a letter or digit`);
    });

    test('a rule id used twice in the policy', () => {
      const policy = FirewallPolicy.denyUdp().addRule('syslog', allowUdp());
      expect(() => policy.addRule('syslog', allowUdp({ destinations: ['192.0.2.1'] }))).toThrow(`${POLICY}: rule 'syslog': id "syslog" is declared twice; rule ids must be unique`);
      expect(policy.rules.map((r) => r.id)).toEqual(['syslog']);
    });

    test('a bad node OS list', () => {
      expect(() => FirewallPolicy.denyUdp().addRule('r', allowUdp({ nodeOs: [] })))
        .toThrow(`${POLICY}: rule 'r': nodeOs [] must list linux, windows or both, or be omitted for every node`);
      expect(() => FirewallPolicy.denyUdp().addRule('r', allowUdp({ nodeOs: ['macos' as NodeOs] })))
        .toThrow(`${POLICY}: rule 'r': nodeOs "macos" must be one of linux, windows`);
    });

    test('overrideFailsafe on an allow rule', () => {
      expect(() => FirewallPolicy.denyUdp().addRule('r', allowUdp({ overrideFailsafe: true }))).toThrow(`${POLICY}: rule 'r': overrideFailsafe true only applies to deny rules`);
    });

    test('what needs the failsafes is left to the compile: a deny cutting DNS is accepted by addRule', () => {
      const policy = FirewallPolicy.denyUdp().addRule('no-dns', { ...allowUdp({ destinationPorts: [PortRange.of(53)] }), action: RuleAction.DENY });
      expect(() => compilePolicy(PATH, policy, failsafes())).toThrow(`${PATH}: rule 'no-dns': action "deny" would cut failsafe`);
    });
  });

  describe('compilePolicy refuses what needs the failsafes or the other rules, naming path, rule, field and value', () => {
    test.each([
      ['an allow for a protocol allowed by default', { ...allowUdp(), protocol: Protocol.TCP }, `${PATH}: rule 'r': protocol "tcp" is allowed by default, so this allow rule has no effect (deny beats allow: add a deny rule instead, or deny the protocol by default)`],
      ['a deny that overlaps no allow under a deny default', { ...allowUdp({ destinations: ['203.0.113.0/24'], destinationPorts: [PortRange.of(9)] }), action: RuleAction.DENY }, `${PATH}: rule 'r': protocol "udp" is denied by default and no allow rule overlaps this deny rule, so it has no effect`],
      ['a deny that cuts DNS', { ...allowUdp({ destinationPorts: [PortRange.of(53)] }), action: RuleAction.DENY }, `${PATH}: rule 'r': action "deny" would cut failsafe 'dns-cluster-service' (DNS to the cluster DNS Service IP, matched before kube-proxy DNAT); set overrideFailsafe: true if that is intended`],
    ])('%s', (_name, props, message) => {
      expect(() => compileWith('r', props as FirewallRuleProps)).toThrow(message);
    });

    test('a rule id used twice, against a failsafe', () => {
      expect(() => compileWith('dns-upstream', allowUdp())).toThrow(`${PATH}: rule 'dns-upstream': id "dns-upstream" is declared twice; rule ids must be unique`);
    });

    test('an allow that a deny covers entirely (contradiction)', () => {
      const policy = FirewallPolicy.denyUdp()
        .addRule('syslog', allowUdp({ destinations: ['203.0.113.5'], destinationPorts: [PortRange.of(514)] }))
        .addRule('no-lab', { ...allowUdp({ destinations: ['203.0.113.0/24'] }), action: RuleAction.DENY });
      expect(() => compilePolicy(PATH, policy, failsafes())).toThrow(`${PATH}: rule 'syslog': action "allow" contradicts deny rule 'no-lab', which covers all of it (deny beats allow)`);
    });
  });

  test('a deny that cuts a failsafe is accepted when overridden explicitly', () => {
    const compiled = compileWith('no-dns-egress', { ...allowUdp({ destinationPorts: [PortRange.of(53)] }), action: RuleAction.DENY, overrideFailsafe: true });
    expect(compiled.rules[0]).toMatchObject({ id: 'no-dns-egress', action: RuleAction.DENY });
  });

  test('a rule for some node OSes compiles only for them', () => {
    const policy = FirewallPolicy.denyUdp().addRule('win-only', allowUdp({ nodeOs: [NodeOs.WINDOWS] }));
    expect(compilePolicy(PATH, policy, [], NodeOs.LINUX).rules).toEqual([]);
    expect(compilePolicy(PATH, policy, [], NodeOs.WINDOWS).rules.map((r) => r.id)).toEqual(['win-only', 'win-only']);
  });

  test('a deny carving an exemption is kept', () => {
    const policy = FirewallPolicy.denyUdp()
      .addRule('lab', allowUdp({ destinations: ['203.0.113.0/24'] }))
      .addRule('not-lab-printer', { ...allowUdp({ destinations: ['203.0.113.9'] }), action: RuleAction.DENY });
    expect(compilePolicy(PATH, policy, []).rules.map((r) => `${r.action}:${r.id}`)).toEqual(['deny:not-lab-printer', 'allow:lab']);
  });
});

describe('IncrementalPolicyCheck (NodeFirewall.addRule) agrees with compilePolicy', () => {
  // a small pool, so that rules often meet: allows and denies of udp/tcp over two ports and three networks
  const rule = fc.record({
    action: fc.constantFrom(RuleAction.ALLOW, RuleAction.DENY),
    protocol: fc.constantFrom(Protocol.UDP, Protocol.TCP),
    destinations: fc.constantFrom(undefined, ['203.0.113.0/24'], ['203.0.113.5'], ['198.51.100.0/24']),
    destinationPorts: fc.constantFrom(undefined, [PortRange.of(514)], [PortRange.range(514, 515)], [PortRange.of(53)]),
    overrideFailsafe: fc.constantFrom(undefined, true),
  }).map((r): FirewallRuleProps => ({ ...r, scopes: [TrafficScope.NODE_EGRESS], description: 'generated' }));

  test('property: each rule added is refused by one exactly when by the other, with the same message', () => {
    fc.assert(fc.property(fc.array(rule, { maxLength: 8 }), (rules) => {
      const policy = FirewallPolicy.denyUdp();
      const check = new IncrementalPolicyCheck(PATH, policy, failsafes());
      rules.forEach((props, i) => {
        const named = { id: `r${i}`, origin: RuleOrigin.USER, props };
        const whole = messageOf(() => compilePolicy(PATH, policy.copy()._addRule(PATH, named.id, props), failsafes()));
        let parts: ReturnType<IncrementalPolicyCheck['check']> = [];
        const incremental = messageOf(() => { parts = check.check(named); });
        expect(incremental).toBe(whole);
        if (whole === undefined) {
          policy._addRule(PATH, named.id, props);
          check.record(named, parts);
        }
      });
    }), { seed: 11, numRuns: 400 });
  });
});

function messageOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}
