// explainFlow's special cases, with verdicts written from the spec: modes, loopback, NodeLocal
// DNSCache's untracked replies, DNAT, Windows' unrendered rules, and malformed flows.
import { benchProfile, synthFirewall } from './random-policy';
import { Verdict, explainFlow } from '../../src/explain/explain-flow';
import { HostPolicy, readHostPolicy } from '../../src/explain/host-policy';
import { FirewallMode } from '../../src/policy/firewall-mode';
import { FirewallPolicy } from '../../src/policy/firewall-policy';
import { Protocol, TrafficScope } from '../../src/policy/protocol';

// GIVEN the e2e network values (cluster DNS 198.18.64.10, pods 198.19.0.0/16) with NodeLocal DNSCache
const fw = synthFirewall({ ...benchProfile('generic'), nodeLocalDnsIp: '169.254.20.10' }, FirewallPolicy.denyUdp());
const udp = (scope: TrafficScope, source: string, destination: string, sourcePort: number, destinationPort: number) =>
  ({ scope, protocol: Protocol.UDP, source, destination, sourcePort, destinationPort });

describe('explainFlow', () => {
  test('NodeLocal DNSCache replies are untracked: allowed by dns-node-local-replies on Linux, not rendered on Windows', () => {
    const reply = udp(TrafficScope.NODE_EGRESS, '169.254.20.10', '198.19.1.2', 53, 40000);
    expect(explainFlow(fw.linux, reply)).toMatchObject({ verdict: Verdict.ALLOW, ruleId: 'dns-node-local-replies' });
    expect(explainFlow(fw.linux, reply).reason).toMatch(/matched as untracked/);
    expect(explainFlow(fw.windows, reply)).toMatchObject({ verdict: Verdict.DENY, isDefault: true });
    // the same packet from another address is tracked and not a reply of anything: denied
    expect(explainFlow(fw.linux, { ...reply, source: '169.254.20.11' }).verdict).toBe(Verdict.DENY);
  });

  test('DNAT: the cluster DNS Service IP matches before DNAT whatever the endpoint; another Service IP does not', () => {
    const query = { ...udp(TrafficScope.POD_FORWARD, '198.19.1.2', '198.18.64.10', 40000, 53), dnatDestination: '203.0.113.9' };
    expect(explainFlow(fw.linux, query)).toMatchObject({ verdict: Verdict.ALLOW, ruleId: 'dns-cluster-service' });
    expect(explainFlow(fw.linux, query).reason).toMatch(/before kube-proxy's DNAT to 203\.0\.113\.9/);
    // a Service IP DNATed to a CoreDNS pod passes through the pods' rule; to an outside address it does not
    const other = { ...query, destination: '198.18.64.11' };
    expect(explainFlow(fw.linux, { ...other, dnatDestination: '198.19.2.2' }).ruleId).toBe('dns-coredns-pods');
    expect(explainFlow(fw.linux, other).verdict).toBe(Verdict.DENY);
  });

  test('loopback passes before any rule, on both OSs', () => {
    const flow = udp(TrafficScope.NODE_INGRESS, '127.0.0.1', '127.0.0.1', 40000, 9999);
    expect(explainFlow(fw.linux, flow)).toMatchObject({ verdict: Verdict.ALLOW, ruleId: undefined, isDefault: false });
    expect(explainFlow(fw.windows, flow).reason).toBe('Windows: loopback traffic is not filtered');
    // ... but not for routed packets
    expect(explainFlow(fw.linux, { ...flow, scope: TrafficScope.POD_FORWARD }).verdict).toBe(Verdict.DENY);
  });

  test('audit mode: ALLOW, naming what enforce would do; remove mode: ALLOW', () => {
    const flow = udp(TrafficScope.NODE_EGRESS, '198.18.0.1', '203.0.113.9', 40000, 9999);
    const audit: HostPolicy = { ...fw.linux, mode: FirewallMode.AUDIT };
    expect(explainFlow(audit, flow)).toMatchObject({ verdict: Verdict.ALLOW, isDefault: true });
    expect(explainFlow(audit, flow).reason).toBe('AUDIT mode, nothing is dropped: enforce would deny (no rule allows it: udp is denied by default (default-deny-udp))');
    expect(explainFlow({ ...fw.windows, mode: FirewallMode.REMOVE }, flow).reason).toMatch(/^REMOVE mode/);
  });

  test('icmp: no port, allowed unless a deny names it', () => {
    const ping = { scope: TrafficScope.NODE_INGRESS, protocol: Protocol.ICMP, source: '2001:db8::1', destination: '2001:db8::2' };
    expect(explainFlow(fw.linux, ping).reason).toBe('icmp is allowed by default and no deny rule names it, so it leaves the chain before any rule');
  });

  test.each([
    [{ source: '10.0.0.1', destination: '2001:db8::1' }, 'flow destination "2001:db8::1" is not of the source\'s family (ipv4)'],
    [{ source: '10.0.0.0/8' }, 'flow source "10.0.0.0/8" is not an IP address'],
    [{ destinationPort: 0 }, 'flow destinationPort 0 must be a port from 1 to 65535'],
    [{ protocol: Protocol.ANY }, 'flow protocol "any" must be udp, tcp or icmp'],
    [{ protocol: Protocol.ICMP }, 'flow sourcePort 40000 cannot be given for icmp'],
    [{ scope: 'input' }, 'flow scope "input" must be one of nodeIngress, nodeEgress, podForward'],
  ])('refuses a malformed flow %j', (change, message) => {
    const flow = { ...udp(TrafficScope.NODE_EGRESS, '198.18.0.1', '203.0.113.9', 40000, 9999), ...change } as any;
    expect(() => explainFlow(fw.linux, flow)).toThrow(message);
  });

  test('refuses a policy.json it cannot read, naming the field', () => {
    expect(() => readHostPolicy({ ...fw.linux, format: 2 }, 'x')).toThrow('x: format 2 is not 1: this cdk8s-hostnet reads format 1; use the version that synthesized it');
    expect(() => readHostPolicy({ ...fw.linux, rules: [{ ...fw.linux.rules[0], sources: ['10.0.0.0/33'] }] }, 'x'))
      .toThrow('x: rules[0].sources[0] "10.0.0.0/33" has an invalid prefix length (0-32 for ipv4)');
  });
});
