import { ClusterProfile } from './cluster-profile';
import { parseCidr } from '../policy/cidr';
import { DnsResolver } from '../policy/dns-resolver';
import { NamedRule, RuleOrigin } from '../policy/firewall-rule';
import { NodeOs } from '../policy/node-os';
import { RuleAction, TrafficScope } from '../policy/protocol';

const SUFFIX: Record<TrafficScope, string> = {
  [TrafficScope.NODE_INGRESS]: 'in',
  [TrafficScope.NODE_EGRESS]: 'out',
  [TrafficScope.POD_FORWARD]: 'fwd',
};

/**
 * The profile's infrastructure traffic for nodes of one OS, as failsafe allows, restricted to the
 * node CIDRs when the profile knows them (overlay packets only ever come from other nodes).
 */
export function infrastructureRules(profile: ClusterProfile, os: NodeOs): NamedRule[] {
  return profile.infrastructure
    .filter((port) => port.nodeOs.includes(os))
    .flatMap((port) => port.scopes.map((scope) => ({
      id: `${port.id}-${SUFFIX[scope]}`,
      origin: RuleOrigin.FAILSAFE,
      props: {
        action: RuleAction.ALLOW,
        protocol: port.protocol,
        scopes: [scope],
        destinationPorts: port.ports,
        sources: scope === TrafficScope.NODE_INGRESS ? ingressPeers(profile, port.fromPods ?? false) : undefined,
        destinations: scope === TrafficScope.NODE_EGRESS ? profile.nodeCidrs : undefined,
        description: port.description,
      },
    })));
}

/**
 * Who may send infrastructure traffic to a node: the nodes, plus the pods where they use it. Node
 * and pod networks may nest (pods inside a node range): a CIDR inside another is left out, since
 * CIDRs either nest or are disjoint.
 */
function ingressPeers(profile: ClusterProfile, fromPods: boolean): string[] | undefined {
  if (!profile.nodeCidrs) return undefined;
  if (!fromPods) return profile.nodeCidrs;
  const all = [...profile.nodeCidrs, ...profile.podCidrs];
  const parsed = all.map((text) => parseCidr(text));
  return all.filter((_, i) => {
    const a = parsed[i];
    if (typeof a === 'string') return true; // reported against its profile field
    return !parsed.some((b, j) => j !== i && typeof b !== 'string' && b.family === a.family && b.first <= a.first && a.last <= b.last
      && (b.prefix < a.prefix || j < i));
  });
}

/** The resolvers a profile declares: cluster DNS Service, CoreDNS pods, upstreams, NodeLocal DNSCache. */
export function profileResolvers(profile: ClusterProfile): DnsResolver[] {
  const resolvers = [DnsResolver.clusterService(profile.clusterDnsIp), DnsResolver.corednsPods(...profile.podCidrs)];
  if (profile.upstreamResolvers.length > 0) resolvers.push(DnsResolver.upstream(...profile.upstreamResolvers));
  if (profile.nodeLocalDnsIp) resolvers.push(DnsResolver.nodeLocalCache(profile.nodeLocalDnsIp, profile.clusterDnsIp));
  return resolvers;
}
