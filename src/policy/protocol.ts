/** IP protocol a rule matches. */
export enum Protocol {
  /** UDP (IP protocol 17). */
  UDP = 'udp',
  /** TCP (IP protocol 6). */
  TCP = 'tcp',
  /** ICMP for IPv4, ICMPv6 for IPv6. */
  ICMP = 'icmp',
  /** Every IP protocol (ports cannot be given). */
  ANY = 'any',
}

/** What a matching rule does. Deny beats allow, as in Windows Firewall: there is no rule order. */
export enum RuleAction {
  /** Let the traffic through (an exemption from a protocol's default deny). */
  ALLOW = 'allow',
  /** Drop the traffic, whatever allows it. */
  DENY = 'deny',
}

/** Where on the node a rule applies. */
export enum TrafficScope {
  /** Packets addressed to the node itself (iptables INPUT): the node is the destination. */
  NODE_INGRESS = 'nodeIngress',
  /** Packets the node itself sends (iptables OUTPUT): the node is the source. */
  NODE_EGRESS = 'nodeEgress',
  /** Packets the node routes for its pods, both directions (iptables FORWARD). Linux only. */
  POD_FORWARD = 'podForward',
}

/** Every scope, in the order the dialects render them. */
export const ALL_SCOPES: TrafficScope[] = [TrafficScope.NODE_INGRESS, TrafficScope.NODE_EGRESS, TrafficScope.POD_FORWARD];

/** Protocols that may carry port matches. */
export function hasPorts(protocol: Protocol): boolean {
  return protocol === Protocol.UDP || protocol === Protocol.TCP;
}
