import { NodeOs } from './node-os';
import { PortRange } from './port-range';
import { Protocol, RuleAction, TrafficScope } from './protocol';

/** One declared firewall rule. Omitted address or port lists mean "any". */
export interface FirewallRuleProps {
  /** Allow (an exemption) or deny. Deny beats allow. */
  readonly action: RuleAction;
  /** The protocol matched. */
  readonly protocol: Protocol;
  /** Where on the node the rule applies. */
  readonly scopes: TrafficScope[];
  /**
   * Source CIDRs (IPv4 or IPv6; a bare address is a host).
   * @default - any source
   */
  readonly sources?: string[];
  /**
   * Destination CIDRs.
   * @default - any destination
   */
  readonly destinations?: string[];
  /**
   * Destination ports (udp/tcp only).
   * @default - any port
   */
  readonly destinationPorts?: PortRange[];
  /**
   * Source ports (udp/tcp only). Never use a source port as the only proof of a reply:
   * replies pass through connection tracking already.
   * @default - any port
   */
  readonly sourcePorts?: PortRange[];
  /**
   * Match the destination as the client addressed it, before kube-proxy's DNAT (Service IPs).
   * @default false
   */
  readonly matchOriginalDestination?: boolean;
  /**
   * Match only packets that the raw table exempted from connection tracking (NOTRACK),
   * as NodeLocal DNSCache does for its own traffic.
   * @default false
   */
  readonly untrackedOnly?: boolean;
  /**
   * Nodes the rule applies to.
   * @default - every node, Linux and Windows
   */
  readonly nodeOs?: NodeOs[];
  /** What the rule is for; shown in the generated scripts. Printable text, one line. */
  readonly description: string;
  /**
   * Let a deny rule cut traffic that keeps the node alive (a failsafe).
   * @default false
   */
  readonly overrideFailsafe?: boolean;
}

/** Who declared a rule: failsafes keep the node alive and the cluster working. */
export enum RuleOrigin {
  /** Added by the library (DNS, DHCP, the profile's infrastructure): a deny may cut it only with `overrideFailsafe`. */
  FAILSAFE = 'failsafe',
  /** Declared by the user (`addRule`). */
  USER = 'user',
}

/** A rule with its stable id (the idempotency key of the Windows rule name and the iptables comment). */
export interface NamedRule {
  /** Stable id: lowercase letters, digits and dashes. */
  readonly id: string;
  /** Who declared the rule. */
  readonly origin: RuleOrigin;
  /** What the rule matches and does. */
  readonly props: FirewallRuleProps;
}
