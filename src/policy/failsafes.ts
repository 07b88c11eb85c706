import { NamedRule, RuleOrigin } from './firewall-rule';
import { PortRange } from './port-range';
import { Protocol, RuleAction, TrafficScope } from './protocol';

/**
 * What keeps any node reachable and configured, whatever the profile: its DHCP client.
 * (Calico's felix failsafes keep udp 68 in and udp 67 out open for the same reason.)
 */
export function nodeFailsafes(): NamedRule[] {
  const allowUdp = (id: string, scope: TrafficScope, ports: number, description: string, extra: object = {}): NamedRule => ({
    id,
    origin: RuleOrigin.FAILSAFE,
    props: { action: RuleAction.ALLOW, protocol: Protocol.UDP, scopes: [scope], destinationPorts: [PortRange.of(ports)], description, ...extra },
  });
  return [
    allowUdp('dhcp-client-out', TrafficScope.NODE_EGRESS, 67, 'DHCPv4 client requests', { destinations: ['0.0.0.0/0'] }),
    allowUdp('dhcp-client-in', TrafficScope.NODE_INGRESS, 68, 'DHCPv4 server offers and acks (broadcast, not conntracked)', { sources: ['0.0.0.0/0'] }),
    allowUdp('dhcpv6-client-out', TrafficScope.NODE_EGRESS, 547, 'DHCPv6 client requests', { destinations: ['ff02::1:2'] }),
    allowUdp('dhcpv6-client-in', TrafficScope.NODE_INGRESS, 546, 'DHCPv6 server replies', { sources: ['fe80::/10'] }),
  ];
}
