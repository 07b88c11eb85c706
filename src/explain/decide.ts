import { HostPolicy } from './host-policy';
import { Family } from '../policy/cidr';
import { CompiledPolicy, CompiledRule, deniedByDefault, governedProtocols } from '../policy/compiled-policy';
import { FirewallMode } from '../policy/firewall-mode';
import { NodeOs } from '../policy/node-os';
import { Protocol, RuleAction, TrafficScope } from '../policy/protocol';

/**
 * How the engine of one OS decides a packet, given which rules match it. One function for a single
 * flow (explain) and for a whole cell of packets (diff), so both always agree.
 */
export interface Packet {
  readonly scope: TrafficScope;
  /** udp, tcp or icmp. */
  readonly protocol: Protocol;
  readonly family: Family;
  /** Crossing the loopback interface (an address of 127.0.0.0/8 or ::1 at either end). */
  readonly loopback: boolean;
  /** Whether a rule's addresses and ports match the packet (untrackedOnly and DNAT included). */
  readonly matches: (rule: CompiledRule) => boolean;
}

/** Why a packet passes or not. */
export type Decision =
  | { readonly kind: 'rule'; readonly allowed: boolean; readonly rule: CompiledRule; readonly audited?: boolean }
  | { readonly kind: 'default'; readonly allowed: boolean; readonly protocol: Protocol; readonly audited?: boolean }
  | { readonly kind: 'loopback' | 'not-governed' | 'not-rendered' | 'removed'; readonly allowed: true };

/** The decision of the rules rendered from `policy` for nodes of `doc.nodeOs`. */
export function decide(doc: HostPolicy, policy: CompiledPolicy, packet: Packet): Decision {
  if (doc.mode === FirewallMode.REMOVE) return { kind: 'removed', allowed: true };
  const decision = doc.nodeOs === NodeOs.WINDOWS ? decideWindows(policy, packet) : decideLinux(policy, packet);
  // audit: the rules that would drop count and log instead (Linux), or are created disabled (Windows)
  if (doc.mode === FirewallMode.AUDIT && !decision.allowed && (decision.kind === 'rule' || decision.kind === 'default')) {
    return { ...decision, allowed: true, audited: true };
  }
  return decision;
}

/** Protocol of a rule meets the packet's: `any` matches every protocol. */
function protocolMatches(rule: CompiledRule, packet: Packet): boolean {
  return rule.scope === packet.scope && rule.family === packet.family && (rule.protocol === Protocol.ANY || rule.protocol === packet.protocol);
}

function defaultOf(policy: CompiledPolicy, protocol: Protocol): RuleAction {
  if (protocol === Protocol.UDP) return policy.udp;
  if (protocol === Protocol.TCP) return policy.tcp;
  return RuleAction.ALLOW;
}

/**
 * iptables and nftables render the same chain per scope: loopback and replies return first, then
 * protocols no rule governs; then the rules in order (denies first), the first match deciding;
 * then the default deny of udp and tcp.
 */
function decideLinux(policy: CompiledPolicy, packet: Packet): Decision {
  if (packet.loopback && packet.scope !== TrafficScope.POD_FORWARD) return { kind: 'loopback', allowed: true };
  const governed = governedProtocols(policy);
  if (!governed.includes(Protocol.ANY) && !governed.includes(packet.protocol)) return { kind: 'not-governed', allowed: true };
  for (const rule of policy.rules) {
    if (protocolMatches(rule, packet) && packet.matches(rule)) return { kind: 'rule', allowed: rule.action === RuleAction.ALLOW, rule };
  }
  return { kind: 'default', allowed: defaultOf(policy, packet.protocol) === RuleAction.ALLOW, protocol: packet.protocol };
}

/**
 * Windows Firewall gets Block rules only: one per user deny rule, and for a protocol denied by
 * default Block rules over the exact complement of its exemptions (allow rules of that protocol or
 * `any`). Block beats Allow and rules have no order. podForward and untrackedOnly rules are not
 * rendered; loopback is not filtered.
 */
function decideWindows(policy: CompiledPolicy, packet: Packet): Decision {
  if (packet.scope === TrafficScope.POD_FORWARD) return { kind: 'not-rendered', allowed: true };
  if (packet.loopback) return { kind: 'loopback', allowed: true };
  const usable = (rule: CompiledRule) => !rule.untrackedOnly && protocolMatches(rule, packet) && packet.matches(rule);
  const deny = policy.rules.find((r) => r.action === RuleAction.DENY && usable(r));
  if (deny) return { kind: 'rule', allowed: false, rule: deny };
  if (deniedByDefault(policy).includes(packet.protocol)) {
    const exemption = policy.rules.find((r) => r.action === RuleAction.ALLOW && usable(r));
    if (exemption) return { kind: 'rule', allowed: true, rule: exemption };
    return { kind: 'default', allowed: false, protocol: packet.protocol };
  }
  return { kind: 'default', allowed: true, protocol: packet.protocol };
}
