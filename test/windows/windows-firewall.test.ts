import { decide, Flow, ParsedRule, readRules } from './firewall-evaluator';
import { windowsPolicy } from './fixtures';
import { parsePowerShell } from './powershell-parser';
import { renderWindowsFirewall } from '../../src/dialects/windows-firewall';
import { planWindowsRules, WINDOWS_RULE_GROUP } from '../../src/dialects/windows-rules';
import { compilePolicy } from '../../src/policy/compile-policy';
import { DnsResolver, dnsRules } from '../../src/policy/dns-resolver';
import { nodeFailsafes } from '../../src/policy/failsafes';
import { FirewallPolicy } from '../../src/policy/firewall-policy';
import { PortRange } from '../../src/policy/port-range';
import { Protocol, RuleAction, TrafficScope } from '../../src/policy/protocol';
import { K2S_PROFILE } from '../../src/profiles/k2s';
import { synthProfile, windowsScripts } from '../util/synth';

/**
 * What a K2s Windows host already has, as far as these flows go: K2s opens udp/53 for its dnsproxy
 * (group k2s), Windows' Core Networking rules let DHCP replies in, Windows allows mDNS in, and
 * kubelet listens on tcp/10250.
 */
const K2S_HOST_RULES = `
New-NetFirewallRule -Name 'k2s-dnsproxy-udp' -DisplayName 'K2s dnsproxy (UDP-In)' -Group 'k2s' -Direction Inbound -Action Allow -Protocol UDP -LocalPort 53
New-NetFirewallRule -Name 'CoreNet-DHCP-In' -DisplayName 'Core Networking - DHCP (DHCP-In)' -Direction Inbound -Action Allow -Protocol UDP -LocalPort 68 -RemotePort 67
New-NetFirewallRule -Name 'CoreNet-DHCPV6-In' -DisplayName 'Core Networking - DHCPv6 (DHCPV6-In)' -Direction Inbound -Action Allow -Protocol UDP -LocalPort 546 -RemotePort 547
New-NetFirewallRule -Name 'MDNS-In-UDP' -DisplayName 'mDNS (UDP-In)' -Direction Inbound -Action Allow -Protocol UDP -LocalPort 5353
New-NetFirewallRule -Name 'kubelet' -DisplayName 'kubelet' -Direction Inbound -Action Allow -Protocol TCP -LocalPort 10250
`;

/**
 * The reference design's Windows rules (K2s networking-architecture document), restated:
 * "Block all UDP" plus "Allow UDP 53", per direction.
 */
const NAIVE_REFERENCE = `
$group = 'reference-udp-policy'
Get-NetFirewallRule -Group $group | Remove-NetFirewallRule
New-NetFirewallRule -DisplayName 'Block all UDP in' -Group $group -Direction Inbound -Action Block -Protocol UDP -Profile Any
New-NetFirewallRule -DisplayName 'Allow DNS in' -Group $group -Direction Inbound -Action Allow -Protocol UDP -LocalPort 53 -Profile Any
New-NetFirewallRule -DisplayName 'Block all UDP out' -Group $group -Direction Outbound -Action Block -Protocol UDP -Profile Any
New-NetFirewallRule -DisplayName 'Allow DNS out' -Group $group -Direction Outbound -Action Allow -Protocol UDP -RemotePort 53 -Profile Any
`;

const out = (protocol: 'UDP' | 'TCP', address: string, port: number): Flow =>
  ({ direction: 'Outbound', protocol, remoteAddress: address, remotePort: port, localPort: 50000 });
/** Inbound to the Windows host's own address on the K2s host switch. */
const HOST = '172.19.1.1';
const inbound = (protocol: 'UDP' | 'TCP', address: string, remotePort: number, localPort: number, replyTo?: Flow): Flow =>
  ({ direction: 'Inbound', protocol, remoteAddress: address, remotePort, localPort, localAddress: HOST, replyTo });

const QUERY_CLUSTER_DNS = out('UDP', '172.21.0.10', 53);
const QUERY_FOREIGN_DNS = out('UDP', '8.8.8.8', 53);

type Who = 'ours' | 'host' | 'default' | 'reply';
/** [what, flow, allowed, who decides: one of our rules, a host rule, the default, or statefulness] */
const MATRIX: [string, Flow, boolean, Who][] = [
  ['DNS to the cluster DNS Service IP', QUERY_CLUSTER_DNS, true, 'default'],
  ['DNS to a CoreDNS pod (Linux pod CIDR)', out('UDP', '172.20.0.10', 53), true, 'default'],
  ['DNS to a CoreDNS pod (other pod CIDR)', out('UDP', '172.20.1.7', 53), true, 'default'],
  ['DNS to the upstream dnsproxy 172.19.1.1', out('UDP', '172.19.1.1', 53), true, 'default'],
  ['DNS to an undeclared resolver', QUERY_FOREIGN_DNS, false, 'ours'],
  ['NTP to the cluster DNS IP', out('UDP', '172.21.0.10', 123), false, 'ours'],
  ['VXLAN to the control plane', out('UDP', '172.19.1.100', 4789), false, 'ours'],
  ['QUIC to the internet', out('UDP', '8.8.8.8', 443), false, 'ours'],
  ['DHCPv4 request', out('UDP', '255.255.255.255', 67), true, 'default'],
  ['DHCPv6 request', out('UDP', 'ff02::1:2', 547), true, 'default'],
  ['IPv6 DNS to an undeclared resolver', out('UDP', '2001:db8::53', 53), false, 'ours'],
  ['TCP 443 out', out('TCP', '8.8.8.8', 443), true, 'default'],
  ['TCP DNS out', out('TCP', '172.21.0.10', 53), true, 'default'],
  ['DNS to the host dnsproxy from the Linux VM', inbound('UDP', '172.19.1.100', 40000, 53), true, 'host'],
  ['DNS to the host dnsproxy from a Windows pod', inbound('UDP', '172.20.1.5', 40000, 53), true, 'host'],
  ['DNS to the host dnsproxy from outside nodes and pods', inbound('UDP', '192.0.2.9', 40000, 53), false, 'ours'],
  ['DHCPv4 offer', inbound('UDP', '172.19.1.254', 67, 68), true, 'host'],
  ['DHCPv6 reply', inbound('UDP', 'fe80::1', 547, 546), true, 'host'],
  ['mDNS in (a host rule allows it; Block wins)', inbound('UDP', '172.19.1.100', 5353, 5353), false, 'ours'],
  ['VXLAN in', inbound('UDP', '172.19.1.100', 40000, 4789), false, 'ours'],
  // udp/8125 of the CompartmentWorkload example: the default output once opened it (for pod
  // addresses) on every Windows node; the example is no longer part of dist/, so ours block it
  ['workload UDP 8125 to a pod address', { ...inbound('UDP', '172.19.1.100', 40000, 8125), localAddress: '172.20.1.9' }, false, 'ours'],
  ['workload UDP 8125 to the host address', inbound('UDP', '172.19.1.100', 40000, 8125), false, 'ours'],
  ['reply of the cluster DNS', inbound('UDP', '172.21.0.10', 53, 50000, QUERY_CLUSTER_DNS), true, 'reply'],
  ['"reply" of a blocked query', inbound('UDP', '8.8.8.8', 53, 50000, QUERY_FOREIGN_DNS), false, 'ours'],
  ['kubelet tcp/10250 in', inbound('TCP', '172.19.1.100', 40000, 10250), true, 'host'],
  ['RDP tcp/3389 in', inbound('TCP', '8.8.8.8', 40000, 3389), false, 'default'],
];

describe('k2s Windows host: traffic matrix (rules read back from the synthesized apply.ps1)', () => {
  let ours: ParsedRule[];
  let host: ParsedRule[];
  beforeAll(async () => {
    // the script users apply: out of the ConfigMap the synth app writes for the k2s profile
    ours = await readRules(windowsScripts(synthProfile('k2s')).apply);
    host = await readRules(K2S_HOST_RULES);
  });

  test.each(MATRIX)('%s', (_what, flow, allowed, who) => {
    const verdict = decide([...ours, ...host], flow);
    expect(verdict.allowed).toBe(allowed);
    const decidedBy: Who = ours.some((r) => r.name === verdict.by) ? 'ours' : host.some((r) => r.name === verdict.by) ? 'host' : verdict.by as Who;
    expect(decidedBy).toBe(who);
  });

  test('TCP is untouched: every TCP verdict is the same with and without our rules', () => {
    for (const [, flow] of MATRIX.filter(([, f]) => f.protocol === 'TCP')) {
      expect(decide([...ours, ...host], flow)).toEqual(decide(host, flow));
    }
    expect(ours.every((r) => r.protocol === 'UDP' && r.action === 'Block')).toBe(true);
  });

  test('without K2s\'s own allow rule, DNS to the dnsproxy is refused by the inbound default, not by us', () => {
    expect(decide(ours, inbound('UDP', '172.19.1.100', 40000, 53))).toEqual({ allowed: false, by: 'default' });
  });

  test('the verdict does not depend on rule order (Windows has none)', () => {
    for (const [, flow] of MATRIX) {
      expect(decide([...host, ...ours].reverse(), flow).allowed).toBe(decide([...ours, ...host], flow).allowed);
    }
  });

  test('the naive reference design blocks DNS: Block beats Allow', async () => {
    // GIVEN "Block all UDP" + "Allow UDP 53"
    const naive = await readRules(NAIVE_REFERENCE);
    expect(naive.map((r) => `${r.action} ${r.direction}`)).toEqual(['Block Inbound', 'Allow Inbound', 'Block Outbound', 'Allow Outbound']);
    // THEN DNS is blocked both ways, by the Block rules
    expect(decide(naive, QUERY_CLUSTER_DNS)).toEqual({ allowed: false, by: 'Block all UDP out' });
    expect(decide(naive, inbound('UDP', '172.19.1.100', 40000, 53))).toEqual({ allowed: false, by: 'Block all UDP in' });
    // while our rules let the same query out
    expect(decide(ours, QUERY_CLUSTER_DNS).allowed).toBe(true);
  });
});

describe('renderWindowsFirewall', () => {
  const k2s = () => renderWindowsFirewall(windowsPolicy(K2S_PROFILE), 'hostnet');

  test('rules live in group cdk8s-hostnet, never k2s, with unique stable names and descriptions', async () => {
    const { apply, remove } = k2s();
    const rules = await readRules(apply);
    expect(rules.length).toBeGreaterThan(0);
    expect(new Set(rules.map((r) => r.name)).size).toBe(rules.length);
    expect(rules.every((r) => /^cdk8s-hostnet-[a-z0-9-]+-[0-9a-f]{8}$/.test(r.name) && r.description.length > 0)).toBe(true);
    expect(apply).toContain(`$Group = '${WINDOWS_RULE_GROUP}'`);
    expect(WINDOWS_RULE_GROUP).toBe('cdk8s-hostnet');
    expect(`${apply}\n${remove}`).not.toMatch(/['"]k2s['"]|-Group\s+k2s/i);
    // same input, same script: a second run finds every name and changes nothing
    expect(k2s()).toEqual({ apply, remove });
  });

  test('a changed policy renames only the rules it changes, so the new ones can be created before the old go', async () => {
    // GIVEN the k2s rules, and the same with one more upstream resolver
    const before = await readRules(k2s().apply);
    const profile = { ...K2S_PROFILE, upstreamResolvers: ['172.19.1.1', '192.0.2.53'] };
    const after = await readRules(renderWindowsFirewall(windowsPolicy(profile), 'hostnet').apply);
    const names = (rules: ParsedRule[], direction: string) => rules.filter((r) => r.direction === direction).map((r) => r.name);
    // THEN inbound rules keep their names; outbound rules that changed get new ones
    expect(names(after, 'Inbound')).toEqual(names(before, 'Inbound'));
    expect(names(after, 'Outbound')).not.toEqual(names(before, 'Outbound'));
    expect(decide(after, out('UDP', '192.0.2.53', 53)).allowed).toBe(true);
    expect(decide(before, out('UDP', '192.0.2.53', 53)).allowed).toBe(false);
  });

  test('apply.ps1 creates before it removes, stops on errors, and refuses Group Policy that ignores local rules', async () => {
    const { apply } = k2s();
    expect(apply).toContain('$ErrorActionPreference = \'Stop\'');
    expect(apply.indexOf('New-NetFirewallRule @spec')).toBeLessThan(apply.indexOf('Remove-NetFirewallRule -Name $name'));
    expect(apply).toContain('Get-NetFirewallProfile -PolicyStore ActiveStore');
    expect(apply).toContain('AllowLocalFirewallRules');
    expect(apply).toContain('HKLM:\\SOFTWARE\\Policies\\Microsoft\\WindowsFirewall');
    expect(apply).toContain('AllowLocalPolicyMerge');
    // a failure says whether the previous rules stay or the host has none, exits 1 and releases the lock
    // ($inForce, not $state: PowerShell names ignore case, and $State is the script's -State switch)
    expect(apply).toMatch(/catch \{\n\s+\$inForce = if \(@\(Get-GroupRules\)\.Count -gt 0\) \{ 'the previous rules stay in force' \} else \{ [^\n]*NO rules[^\n]*\}\n\s+Write-Error -Message "hostnet: applying NodeFirewall \$FirewallName failed, [^\n]*\n\s+exit 1\n\} finally \{\n\s+Exit-HostLock\n\}/);
    // one run at a time: a named mutex (released by Windows when a holder dies) around the whole apply
    expect(apply).toMatch(/^try \{\n\s+Enter-HostLock\n/m);
    expect(apply).toContain("New-Object -TypeName System.Threading.Mutex -ArgumentList $false, 'Global\\cdk8s-hostnet'");
    expect(apply).toContain('catch [System.Threading.AbandonedMutexException]');
    // the whole script is one parse tree whose only New-NetFirewallRule is the generic loop
    const tree = await parsePowerShell(apply);
    expect(tree.rootNode.descendantsOfType('command_name').filter((n) => n?.text === 'New-NetFirewallRule')).toHaveLength(1);
  });

  test('remove.ps1 removes the group\'s rules and creates nothing', () => {
    const { remove } = k2s();
    expect(remove).toContain('Get-NetFirewallRule -Group $Group -PolicyStore $Store');
    expect(remove).toContain('Remove-NetFirewallRule -Name $rule.Name -PolicyStore $Store');
    expect(remove).not.toContain('New-NetFirewallRule');
    expect(remove).toMatch(/exit 1/);
  });

  test('remove.ps1 also removes our rules moved to another group, checks none is left, and holds the host lock', () => {
    const { remove } = k2s();
    // the metrics port's Allow rule lives in a group of its own, which remove.ps1 removes too
    expect(remove).toContain("Where-Object { $_.Group -eq $Group -or $_.Group -eq 'cdk8s-hostnet.metrics' -or ($_.Name -like 'cdk8s-hostnet-*' -and $_.Name -notlike '*.*') }");
    // a rule that cannot be removed is reported, and the script does not claim success
    expect(remove).toMatch(/\$left = @\(Get-OurRules\)\n\s+if \(\$failed\.Count -gt 0 -or \$left\.Count -gt 0\) \{\n\s+throw /);
    expect(remove).toMatch(/^try \{\n\s+Enter-HostLock\n/m);
    expect(remove).toMatch(/\} finally \{\n\s+Exit-HostLock\n\}/);
  });

  test('podForward and untrackedOnly rules are skipped and named in the header; pre-DNAT matches are noted', () => {
    // GIVEN NodeLocal DNSCache (untracked replies) and the cluster DNS Service IP (pre-DNAT)
    const policy = compilePolicy('p', FirewallPolicy.denyUdp(), [...nodeFailsafes(), ...dnsRules([
      DnsResolver.clusterService('10.96.0.10'), DnsResolver.nodeLocalCache(), DnsResolver.corednsPods('10.244.0.0/16'),
    ])]);
    // WHEN
    const plan = planWindowsRules(policy, 'hostnet');
    const { apply } = renderWindowsFirewall(policy, 'hostnet');
    // THEN
    expect(plan.skipped).toEqual([
      'dns-cluster-service (podForward): pod traffic is switched by the vSwitch (HNS/VFP), never by the host firewall',
      'dns-coredns-pods (podForward): pod traffic is switched by the vSwitch (HNS/VFP), never by the host firewall',
      'dns-node-local-replies (untrackedOnly): NOTRACK is a Linux conntrack concept (NodeLocal DNSCache)',
    ]);
    expect(plan.notes).toEqual(['dns-cluster-service: destinations matched as addressed (no DNAT happens before the host firewall on Windows)']);
    for (const line of [...plan.skipped, ...plan.notes]) expect(apply).toContain(`#   ${line}`);
  });

  test('explicit deny rules become plain Block rules; ICMP splits into ICMPv4 and ICMPv6', async () => {
    // GIVEN
    const policy = FirewallPolicy.denyUdp()
      .addRule('no-ping', { action: RuleAction.DENY, protocol: Protocol.ICMP, scopes: [TrafficScope.NODE_INGRESS], description: 'no ping' })
      .addRule('quarantine', { action: RuleAction.DENY, protocol: Protocol.ANY, scopes: [TrafficScope.NODE_EGRESS], destinations: ['203.0.113.0/24', '2001:db8:bad::/48'], description: 'quarantined', overrideFailsafe: true })
      .addRule('no-dns-to-pods', {
        action: RuleAction.DENY,
        protocol: Protocol.UDP,
        scopes: [TrafficScope.NODE_EGRESS],
        destinations: ['172.20.5.0/24'],
        destinationPorts: [PortRange.of(53)],
        description: 'not the pods of node 5',
        overrideFailsafe: true,
      });
    // WHEN
    const rules = await readRules(renderWindowsFirewall(windowsPolicy(K2S_PROFILE, policy), 'hostnet').apply);
    const deny = (id: string) => rules.filter((r) => r.description.startsWith(`${id}: `))
      .map((r) => `${r.direction} ${r.protocol} ${r.remoteAddress ?? 'Any'} ${r.remotePort ?? 'Any'}`);
    // THEN
    expect(deny('no-ping')).toEqual(['Inbound ICMPV4 Any Any', 'Inbound ICMPV6 Any Any']);
    expect(deny('quarantine')).toEqual(['Outbound ANY 203.0.113.0/24,2001:db8:bad::/48 Any']);
    expect(deny('no-dns-to-pods')).toEqual(['Outbound UDP 172.20.5.0/24 53']);
    expect(decide(rules, out('UDP', '172.20.5.9', 53)).allowed).toBe(false);
    expect(decide(rules, out('UDP', '172.20.4.9', 53)).allowed).toBe(true);
    expect(decide(rules, out('TCP', '203.0.113.9', 443)).allowed).toBe(false);
  });
});
