// Allows are evaluated cheapest first (rule-order.ts): the order is written out by hand here, the
// rendered chains follow it, explain names the allow the counters count, and reordering allows
// never changes a verdict (allows commute).
import { LinuxBackend } from '../../src/constructs/node-firewall';
import { Verdict, explainFlow } from '../../src/explain/explain-flow';
import { HostPolicy } from '../../src/explain/host-policy';
import { compilePolicy } from '../../src/policy/compile-policy';
import { FirewallPolicy } from '../../src/policy/firewall-policy';
import { PortRange } from '../../src/policy/port-range';
import { Protocol, RuleAction, TrafficScope } from '../../src/policy/protocol';
import { benchProfile, randomFirewall, randomFlows, synthFirewall } from '../explain/random-policy';
import { linuxScripts } from '../util/synth';

/** A udp podForward rule. */
function udpForward(action: RuleAction, destinations: string[], description: string, destinationPorts?: PortRange[]) {
  return { action, protocol: Protocol.UDP, scopes: [TrafficScope.POD_FORWARD], destinations, destinationPorts, description };
}

function policyWithAllows(): FirewallPolicy {
  // declared most expensive first
  return FirewallPolicy.denyUdp()
    .addRule('bulk', udpForward(RuleAction.ALLOW, ['100.64.0.0/24', '100.64.2.0/24', '100.64.4.0/24'], 'three CIDRs'))
    .addRule('short-list', udpForward(RuleAction.ALLOW, ['100.64.8.0/24', '100.64.9.1'], 'two CIDRs'))
    .addRule('ports', udpForward(RuleAction.ALLOW, ['100.64.0.9'], 'one address, a port list', [PortRange.of(5000), PortRange.range(6000, 6010)]))
    .addRule('single', udpForward(RuleAction.ALLOW, ['100.64.0.9'], 'one address, one port', [PortRange.of(5201)]))
    .addRule('no-bulk-9', udpForward(RuleAction.DENY, ['100.64.4.9'], 'a deny inside bulk'));
}

describe('allows are evaluated cheapest first', () => {
  test('compilePolicy: denies first as declared, then allows without lists, with a port list, with address lists (shorter first)', () => {
    const compiled = compilePolicy('test', policyWithAllows(), []);
    const forward = compiled.rules.filter((r) => r.scope === TrafficScope.POD_FORWARD && r.family === 'ipv4').map((r) => r.id);
    expect(forward).toEqual(['no-bulk-9', 'single', 'ports', 'short-list', 'bulk']);
  });

  test('both dialects render the allows in that order', () => {
    const fw = synthFirewall(benchProfile('generic'), policyWithAllows());
    const ids = (lines: string[]) => [...new Set(lines.map((l) => /comment (?:--comment |")([a-z0-9-]+)/.exec(l)?.[1]).filter((id) => id && ['single', 'ports', 'short-list', 'bulk'].includes(id)))];
    const iptables = linuxScripts(fw.objects).apply.split('\n').filter((l) => l.startsWith('-A HOSTNET-FORWARD '));
    expect(ids(iptables)).toEqual(['single', 'ports', 'short-list', 'bulk']);
    const nft = synthFirewall(benchProfile('generic'), policyWithAllows(), LinuxBackend.NFTABLES);
    const apply = linuxScripts(nft.objects).apply;
    const forwardChain = apply.slice(apply.indexOf('  chain forward {'));
    expect(ids(forwardChain.split('\n').filter((l) => l.includes(' accept comment '))).slice(0, 4)).toEqual(['single', 'ports', 'short-list', 'bulk']);
  });

  test('explain names the cheaper allow when two match (the one whose counter counts the packet)', () => {
    const fw = synthFirewall(benchProfile('generic'), policyWithAllows());
    const flow = { scope: TrafficScope.POD_FORWARD, protocol: Protocol.UDP, source: '198.19.1.2', destination: '100.64.0.9', sourcePort: 40000 };
    expect(explainFlow(fw.linux, { ...flow, destinationPort: 5201 }).ruleId).toBe('single');
    expect(explainFlow(fw.linux, { ...flow, destinationPort: 6005 }).ruleId).toBe('ports');
    expect(explainFlow(fw.linux, { ...flow, destinationPort: 7000 }).ruleId).toBe('bulk');
    // the deny still beats every allow
    expect(explainFlow(fw.linux, { ...flow, destination: '100.64.4.9', destinationPort: 5201 })).toMatchObject({ ruleId: 'no-bulk-9', verdict: Verdict.DENY });
  });

  test('allows commute: reversing them changes no verdict of 40 random policies x 300 flows', () => {
    let compared = 0;
    for (let seed = 1; seed <= 40; seed++) {
      const fw = randomFirewall(seed, benchProfile(seed % 2 ? 'k2s' : 'generic'));
      const denies = fw.linux.rules.filter((r) => r.action === RuleAction.DENY);
      const allows = fw.linux.rules.filter((r) => r.action === RuleAction.ALLOW);
      const reversed: HostPolicy = { ...fw.linux, rules: [...denies, ...[...allows].reverse()] };
      for (const flow of randomFlows([fw.linux], seed, 300, { protocols: [Protocol.UDP, Protocol.TCP, Protocol.ICMP] })) {
        expect({ seed, flow, verdict: explainFlow(reversed, flow).verdict }).toEqual({ seed, flow, verdict: explainFlow(fw.linux, flow).verdict });
        compared++;
      }
    }
    expect(compared).toBe(12000);
  });
});
