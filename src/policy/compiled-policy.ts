import { Cidr, Family } from './cidr';
import { RuleOrigin } from './firewall-rule';
import { PortRange } from './port-range';
import { Protocol, RuleAction, TrafficScope } from './protocol';

/**
 * A checked rule for one address family and one scope, ready for a dialect to render.
 * Undefined address or port lists mean "any".
 */
export interface CompiledRule {
  readonly id: string;
  readonly origin: RuleOrigin;
  readonly action: RuleAction;
  readonly protocol: Protocol;
  readonly scope: TrafficScope;
  readonly family: Family;
  readonly sources?: Cidr[];
  readonly destinations?: Cidr[];
  readonly destinationPorts?: PortRange[];
  readonly sourcePorts?: PortRange[];
  readonly matchOriginalDestination: boolean;
  readonly untrackedOnly: boolean;
  readonly description: string;
}

/**
 * The checked policy: defaults plus rules in the order Linux chains evaluate them: denies first (deny
 * beats allow) in declaration order, then allows cheapest first (rule-order.ts).
 */
export interface CompiledPolicy {
  readonly udp: RuleAction;
  readonly tcp: RuleAction;
  readonly rules: CompiledRule[];
}

/** Protocols with a deny default: the only ones whose allow rules mean anything. */
export function deniedByDefault(policy: CompiledPolicy): Protocol[] {
  const denied: Protocol[] = [];
  if (policy.udp === RuleAction.DENY) denied.push(Protocol.UDP);
  if (policy.tcp === RuleAction.DENY) denied.push(Protocol.TCP);
  return denied;
}

/** Protocols the firewall must look at; everything else leaves its chains after one match. */
export function governedProtocols(policy: CompiledPolicy): Protocol[] {
  const governed = new Set(deniedByDefault(policy));
  for (const rule of policy.rules) {
    if (rule.action === RuleAction.DENY) governed.add(rule.protocol);
  }
  return governed.has(Protocol.ANY) ? [Protocol.ANY] : [...governed].sort();
}
