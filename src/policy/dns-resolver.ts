import { FirewallRuleProps, NamedRule, RuleOrigin } from './firewall-rule';
import { PortRange } from './port-range';
import { Protocol, RuleAction, TrafficScope } from './protocol';

/** The kinds of DNS resolver a cluster declares. */
export enum DnsResolverKind {
  /** The cluster DNS Service IP (kube-dns), reached through kube-proxy's DNAT. */
  CLUSTER_SERVICE = 'clusterService',
  /** The CoreDNS pods behind that Service, given as the pod CIDRs they may run in. */
  COREDNS_PODS = 'corednsPods',
  /** Resolvers outside the cluster that nodes and CoreDNS forward to. */
  UPSTREAM = 'upstream',
  /** NodeLocal DNSCache, which listens on a link-local address on every node and bypasses conntrack. */
  NODE_LOCAL_CACHE = 'nodeLocalCache',
  /** Any other resolver addresses. */
  CUSTOM = 'custom',
}

/** Default listen address of NodeLocal DNSCache. @see https://kubernetes.io/docs/tasks/administer-cluster/nodelocaldns/ */
export const NODE_LOCAL_DNS_IP = '169.254.20.10';

/** A declared DNS resolver: DNS (udp and tcp 53) to it stays open for nodes and pods. */
export class DnsResolver {
  /** The cluster DNS Service IP; matched before DNAT, so a query DNATed to a CoreDNS pod on another node passes. */
  public static clusterService(...addresses: string[]): DnsResolver {
    return new DnsResolver(DnsResolverKind.CLUSTER_SERVICE, addresses);
  }

  /**
   * The CoreDNS pods, as the pod CIDRs they run in: the node that hosts a CoreDNS pod forwards
   * other nodes' pod queries to it, after their node already DNATed the Service IP.
   */
  public static corednsPods(...podCidrs: string[]): DnsResolver {
    return new DnsResolver(DnsResolverKind.COREDNS_PODS, podCidrs);
  }

  /** Resolvers outside the cluster (the nodes' /etc/resolv.conf, CoreDNS's forward target). */
  public static upstream(...addresses: string[]): DnsResolver {
    return new DnsResolver(DnsResolverKind.UPSTREAM, addresses);
  }

  /**
   * NodeLocal DNSCache on its link-local address, plus the cluster DNS IP it also binds in iptables
   * mode. Its raw-table NOTRACK rules defeat conntrack, so its replies are matched as untracked.
   */
  public static nodeLocalCache(address: string = NODE_LOCAL_DNS_IP, ...alsoBound: string[]): DnsResolver {
    return new DnsResolver(DnsResolverKind.NODE_LOCAL_CACHE, [address, ...alsoBound]);
  }

  /** Any other resolver CIDRs, for the node and its pods. */
  public static custom(...cidrs: string[]): DnsResolver {
    return new DnsResolver(DnsResolverKind.CUSTOM, cidrs);
  }

  /** The addresses, frozen: a resolver is checked once, where it is declared. */
  public readonly addresses: string[];

  private constructor(
    /** Which kind of resolver: it decides the rule (before or after DNAT, tracked or not). */
    public readonly kind: DnsResolverKind,
    addresses: string[],
  ) {
    this.addresses = Object.freeze([...addresses]) as string[];
  }
}

const DNS_PORT = [PortRange.of(53)];
const NODE_AND_PODS = [TrafficScope.NODE_EGRESS, TrafficScope.POD_FORWARD];

/** Turns declared resolvers into failsafe allow rules, one id per kind and protocol (stable ids). */
export function dnsRules(resolvers: DnsResolver[]): NamedRule[] {
  const byKind = new Map<DnsResolverKind, string[]>();
  for (const r of resolvers) byKind.set(r.kind, [...(byKind.get(r.kind) ?? []), ...r.addresses]);
  const rules: NamedRule[] = [];
  const add = (id: string, props: Omit<FirewallRuleProps, 'action' | 'protocol'>) => {
    for (const protocol of [Protocol.UDP, Protocol.TCP]) {
      const suffix = protocol === Protocol.UDP ? '' : '-tcp';
      rules.push({ id: `${id}${suffix}`, origin: RuleOrigin.FAILSAFE, props: { ...props, action: RuleAction.ALLOW, protocol } });
    }
  };
  const addresses = (kind: DnsResolverKind) => [...new Set(byKind.get(kind) ?? [])];
  const clusterService = addresses(DnsResolverKind.CLUSTER_SERVICE);
  if (clusterService.length) {
    add('dns-cluster-service', {
      scopes: NODE_AND_PODS,
      destinations: clusterService,
      destinationPorts: DNS_PORT,
      matchOriginalDestination: true,
      description: 'DNS to the cluster DNS Service IP, matched before kube-proxy DNAT',
    });
  }
  const pods = addresses(DnsResolverKind.COREDNS_PODS);
  if (pods.length) {
    add('dns-coredns-pods', {
      scopes: NODE_AND_PODS,
      destinations: pods,
      destinationPorts: DNS_PORT,
      description: 'DNS to CoreDNS pods, for queries another node already DNATed',
    });
  }
  const upstream = addresses(DnsResolverKind.UPSTREAM);
  if (upstream.length) {
    add('dns-upstream', {
      scopes: NODE_AND_PODS,
      destinations: upstream,
      destinationPorts: DNS_PORT,
      description: 'DNS to the upstream resolvers of nodes and CoreDNS',
    });
  }
  const nodeLocal = addresses(DnsResolverKind.NODE_LOCAL_CACHE);
  if (nodeLocal.length) {
    add('dns-node-local-cache', {
      scopes: [TrafficScope.NODE_INGRESS, TrafficScope.NODE_EGRESS],
      destinations: nodeLocal,
      destinationPorts: DNS_PORT,
      description: 'DNS queries to NodeLocal DNSCache on this node (NOTRACK: no conntrack state)',
    });
    add('dns-node-local-replies', {
      scopes: [TrafficScope.NODE_EGRESS],
      sources: nodeLocal,
      sourcePorts: DNS_PORT,
      untrackedOnly: true,
      description: 'Replies of NodeLocal DNSCache, untracked because of its NOTRACK rules',
    });
  }
  const custom = addresses(DnsResolverKind.CUSTOM);
  if (custom.length) {
    add('dns-custom', {
      scopes: NODE_AND_PODS,
      destinations: custom,
      destinationPorts: DNS_PORT,
      description: 'DNS to custom resolvers',
    });
  }
  return rules;
}
