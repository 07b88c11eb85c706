import { Decision, decide } from './decide';
import { HostPolicy, readHostPolicy } from './host-policy';
import { Cidr, cidrContains, mustParseCidr, parseCidr } from '../policy/cidr';
import { CompiledPolicy, CompiledRule } from '../policy/compiled-policy';
import { NodeOs } from '../policy/node-os';
import { PortRange } from '../policy/port-range';
import { Protocol, TrafficScope } from '../policy/protocol';

/** Whether a packet passes. */
export enum Verdict {
  /** The packet passes this firewall. */
  ALLOW = 'ALLOW',
  /** The firewall drops the packet. */
  DENY = 'DENY',
}

/** The first packet of a flow, as the node sees it. */
export interface Flow {
  /** Where on the node: nodeIngress (to the node), nodeEgress (from the node), podForward (routed for pods). */
  readonly scope: TrafficScope;
  /** udp, tcp or icmp. */
  readonly protocol: Protocol;
  /** Source address (IPv4 or IPv6). */
  readonly source: string;
  /** Destination address, as the client addressed it (a Service IP before kube-proxy's DNAT). */
  readonly destination: string;
  /**
   * Source port (udp and tcp).
   * @default - none: a rule that matches source ports cannot then decide, and explainFlow throws
   */
  readonly sourcePort?: number;
  /**
   * Destination port (udp and tcp).
   * @default - none: a rule that matches destination ports cannot then decide, and explainFlow throws
   */
  readonly destinationPort?: number;
  /**
   * The endpoint kube-proxy DNATs `destination` to on this node (Linux): rules without
   * matchOriginalDestination see it.
   * @default - no DNAT
   */
  readonly dnatDestination?: string;
}

/** What one firewall does with a flow, and why. */
export interface FlowVerdict {
  /** ALLOW or DENY. */
  readonly verdict: Verdict;
  /** The rule that decided, if one did. @default - the default of the protocol, or no rule at all */
  readonly ruleId?: string;
  /** The protocol's default decided (no rule matched). */
  readonly isDefault: boolean;
  /** Why, in one sentence. */
  readonly reason: string;
  /** The NodeFirewall whose policy decided. */
  readonly firewall: string;
  /** The OS whose rendering decided. */
  readonly nodeOs: NodeOs;
}

/** A flow without a port that a rule it reaches matches on: the verdict depends on the port. */
export class MissingPortError extends Error {
  public constructor(public readonly field: 'sourcePort' | 'destinationPort', public readonly ruleId: string, public readonly ports: string) {
    super(`flow has no ${field}, which rule ${ruleId} needs to decide (it matches ${field}s ${ports})`);
  }
}

const LOOPBACK = [mustParseCidr('127.0.0.0/8'), mustParseCidr('::1/128')];
const DNS_PORT = 53;
const checked = new WeakMap<HostPolicy, CompiledPolicy>();

/** The compiled policy of a document, checked once. */
export function compiledOf(doc: HostPolicy): CompiledPolicy {
  let compiled = checked.get(doc);
  if (!compiled) {
    compiled = readHostPolicy(doc, `policy of firewall ${doc?.firewall}`).compiled;
    checked.set(doc, compiled);
  }
  return compiled;
}

/**
 * The verdict of one firewall's policy (a policy.json: see `policiesFromManifests`) on a flow's
 * first packet, exactly as the rules rendered for `policy.nodeOs` decide it: Linux (iptables and
 * nftables) in rule order, denies first; Windows Firewall with Block beating Allow. Replies of
 * allowed flows pass on both. Throws on a malformed flow, or when a rule that must be consulted
 * matches on a port the flow does not give.
 */
export function explainFlow(policy: HostPolicy, flow: Flow): FlowVerdict {
  const compiled = compiledOf(policy);
  const fail = (field: string, value: unknown, problem: string) => new Error(`flow ${field} ${JSON.stringify(value)} ${problem}`);
  if (!Object.values(TrafficScope).includes(flow.scope)) throw fail('scope', flow.scope, `must be one of ${Object.values(TrafficScope).join(', ')}`);
  if (![Protocol.UDP, Protocol.TCP, Protocol.ICMP].includes(flow.protocol)) throw fail('protocol', flow.protocol, 'must be udp, tcp or icmp');
  const address = (field: string, value: string) => {
    const parsed = parseCidr(value);
    if (typeof parsed === 'string' || parsed.first !== parsed.last) throw fail(field, value, 'is not an IP address');
    return parsed;
  };
  const src = address('source', flow.source);
  const dst = address('destination', flow.destination);
  const dnat = flow.dnatDestination === undefined ? dst : address('dnatDestination', flow.dnatDestination);
  if (src.family !== dst.family || dnat.family !== dst.family) throw fail('destination', flow.destination, `is not of the source's family (${src.family})`);
  const ports = flow.protocol === Protocol.UDP || flow.protocol === Protocol.TCP;
  const port = (field: string, value: number | undefined) => {
    if (value === undefined) return undefined;
    if (!ports) throw fail(field, value, `cannot be given for ${flow.protocol}`);
    if (!Number.isInteger(value) || value < 1 || value > 65535) throw fail(field, value, 'must be a port from 1 to 65535');
    return value;
  };
  const sport = port('sourcePort', flow.sourcePort);
  const dport = port('destinationPort', flow.destinationPort);

  const inside = (list: Cidr[] | undefined, a: Cidr) => !list || list.some((c) => cidrContains(c, a));
  const inPorts = (list: PortRange[] | undefined, p: number | undefined, field: 'sourcePort' | 'destinationPort', rule: CompiledRule) => {
    if (!list) return true;
    if (p === undefined) throw new MissingPortError(field, rule.id, list.join(','));
    return list.some((r) => r.from <= p && p <= r.to);
  };
  const windows = policy.nodeOs === NodeOs.WINDOWS;
  const untrackedDns = policy.untrackedDns.map(mustParseCidr);
  // NodeLocal DNSCache's raw-table NOTRACK rules: port 53 to and from its addresses (Linux only)
  const untracked = !windows && ports
    && untrackedDns.some((u) => (cidrContains(u, dst) && dport === DNS_PORT) || (cidrContains(u, src) && sport === DNS_PORT));
  const decision = decide(policy, compiled, {
    scope: flow.scope,
    protocol: flow.protocol,
    family: src.family,
    loopback: LOOPBACK.some((l) => cidrContains(l, src) || cidrContains(l, dst)),
    matches: (rule) => (!rule.untrackedOnly || untracked)
      && inside(rule.sources, src)
      // Windows sees no DNAT before its host firewall; Linux matches the original destination only where asked
      && inside(rule.destinations, rule.matchOriginalDestination || windows ? dst : dnat)
      && inPorts(rule.sourcePorts, sport, 'sourcePort', rule)
      && inPorts(rule.destinationPorts, dport, 'destinationPort', rule),
  });
  return {
    verdict: decision.allowed ? Verdict.ALLOW : Verdict.DENY,
    ruleId: decision.kind === 'rule' ? decision.rule.id : undefined,
    isDefault: decision.kind === 'default',
    reason: reasonOf(decision, policy, flow, untracked),
    firewall: policy.firewall,
    nodeOs: policy.nodeOs,
  };
}

/** One sentence on why. */
export function reasonOf(decision: Decision, policy: HostPolicy, flow: Pick<Flow, 'protocol' | 'scope' | 'dnatDestination'>, untracked = false): string {
  const windows = policy.nodeOs === NodeOs.WINDOWS;
  const proto = flow.protocol;
  const hostStillDecides = windows && flow.scope === TrafficScope.NODE_INGRESS ? '; the host\'s own inbound rules still apply' : '';
  const audit = (text: string) => decision.kind !== 'rule' && decision.kind !== 'default' || !decision.audited ? text
    : `AUDIT mode, nothing is dropped: enforce would deny (${text})`;
  switch (decision.kind) {
    case 'removed': return 'REMOVE mode: the agents remove this firewall\'s rules from the nodes';
    case 'loopback': return windows ? 'Windows: loopback traffic is not filtered' : 'loopback traffic returns before any rule';
    case 'not-rendered': return 'Windows: podForward is not rendered (pod traffic is switched by the Hyper-V vSwitch, HNS/VFP, never by the host firewall)';
    case 'not-governed': return `${proto} is allowed by default and no deny rule names it, so it leaves the chain before any rule`;
    case 'default':
      if (decision.allowed && !decision.audited) return `no rule matches and ${proto} is allowed by default${hostStillDecides}`;
      return audit(windows
        ? `no exemption matches: ${proto} is denied by default (Block rules over everything the exemptions leave out)`
        : `no rule allows it: ${proto} is denied by default (default-deny-${proto})`);
    case 'rule': {
      const r = decision.rule;
      const what = `${r.origin} ${r.action} rule ${r.id}: ${r.description}`;
      if (r.action === 'deny') return audit(windows ? `${what} (a Block rule: Block beats Allow)` : `${what} (denies are checked before allows)`);
      const notes: string[] = [];
      if (r.matchOriginalDestination) {
        notes.push(windows ? 'destination matched as addressed (no DNAT happens before the Windows host firewall)'
          : `the destination was matched as the client addressed it, before kube-proxy's DNAT${flow.dnatDestination ? ` to ${flow.dnatDestination}` : ''}`);
      }
      if (r.untrackedOnly && untracked) notes.push('matched as untracked (NodeLocal DNSCache\'s NOTRACK)');
      if (windows) notes.push('a hole in the Block rules of the default deny');
      return `${what}${notes.length ? `; ${notes.join('; ')}` : ''}${hostStillDecides}`;
    }
  }
}

/** A packet of several firewalls passes only if each firewall selecting the node allows it. */
export function combine(verdicts: FlowVerdict[]): Verdict {
  return verdicts.every((v) => v.verdict === Verdict.ALLOW) ? Verdict.ALLOW : Verdict.DENY;
}

