// Compiled policies for the Windows tests, built the way NodeFirewall._compile(NodeOs.WINDOWS) does.
import { mustParseCidr } from '../../src/policy/cidr';
import { compilePolicy } from '../../src/policy/compile-policy';
import { CompiledPolicy, CompiledRule } from '../../src/policy/compiled-policy';
import { dnsRules } from '../../src/policy/dns-resolver';
import { nodeFailsafes } from '../../src/policy/failsafes';
import { FirewallPolicy } from '../../src/policy/firewall-policy';
import { RuleOrigin } from '../../src/policy/firewall-rule';
import { NodeOs } from '../../src/policy/node-os';
import { PortRange } from '../../src/policy/port-range';
import { Protocol, RuleAction, TrafficScope } from '../../src/policy/protocol';
import { ClusterProfile } from '../../src/profiles/cluster-profile';
import { K2S_PROFILE } from '../../src/profiles/k2s';
import { infrastructureRules, profileResolvers } from '../../src/profiles/profile-rules';

export const PATH = 'app/hostnet/NodeFirewall';

/** The policy a Windows node of `profile` gets. */
export function windowsPolicy(profile: ClusterProfile = K2S_PROFILE, policy: FirewallPolicy = FirewallPolicy.denyUdp()): CompiledPolicy {
  return compilePolicy(PATH, policy, [...nodeFailsafes(), ...infrastructureRules(profile, NodeOs.WINDOWS), ...dnsRules(profileResolvers(profile))]);
}

/**
 * An exemption (allow) straight into a compiled policy, for random tests that skip compilePolicy's
 * checks: `remotes` (one family) are the sources of an ingress rule and the destinations of an egress
 * rule; `ports` are destination ports (local inbound, remote outbound).
 */
export function exemption(id: string, scope: TrafficScope, remotes: string[], ports: PortRange[] | undefined, protocol = Protocol.UDP): CompiledRule {
  const cidrs = remotes.map(mustParseCidr);
  const inbound = scope === TrafficScope.NODE_INGRESS;
  return {
    id,
    origin: RuleOrigin.USER,
    action: RuleAction.ALLOW,
    protocol,
    scope,
    family: cidrs[0].family,
    sources: inbound ? cidrs : undefined,
    destinations: inbound ? undefined : cidrs,
    destinationPorts: ports,
    matchOriginalDestination: false,
    untrackedOnly: false,
    description: `exemption ${id}`,
  };
}

/** A deny-udp policy made of the given exemptions only. */
export function denyUdpWith(rules: CompiledRule[]): CompiledPolicy {
  return { udp: RuleAction.DENY, tcp: RuleAction.ALLOW, rules };
}
