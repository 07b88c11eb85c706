import { Cidr, Family, parseCidr } from '../policy/cidr';
import { CompiledPolicy, CompiledRule } from '../policy/compiled-policy';
import { FirewallMode } from '../policy/firewall-mode';
import { RuleOrigin } from '../policy/firewall-rule';
import { NodeOs } from '../policy/node-os';
import { PortRange, portRangeProblem } from '../policy/port-range';
import { Protocol, RuleAction, TrafficScope } from '../policy/protocol';

/** What `kind` a policy.json holds: the key of the `<name>-<os>-policy` ConfigMap that `cdk8s-hostnet` reads. */
export const HOST_POLICY_KIND = 'cdk8s-hostnet/HostPolicy';
/** Version of the policy.json layout; a reader refuses a newer one. */
export const HOST_POLICY_FORMAT = 1;

/** One compiled rule as policy.json stores it. Omitted lists mean "any". */
export interface HostPolicyRule {
  /** The rule's id (a failsafe's or the user's). */
  readonly id: string;
  /** `failsafe` or `user`. */
  readonly origin: RuleOrigin;
  /** `allow` or `deny`. */
  readonly action: RuleAction;
  /** `udp`, `tcp`, `icmp` or `any`. */
  readonly protocol: Protocol;
  /** The scope this part of the rule applies to. */
  readonly scope: TrafficScope;
  /** `ipv4` or `ipv6`: rules are compiled per family. */
  readonly family: string;
  /** Source CIDRs. @default - any */
  readonly sources?: string[];
  /** Destination CIDRs. @default - any */
  readonly destinations?: string[];
  /** Source ports, `53` or `1000-2000`. @default - any */
  readonly sourcePorts?: string[];
  /** Destination ports. @default - any */
  readonly destinationPorts?: string[];
  /** Destinations are matched as the client addressed them, before kube-proxy's DNAT. @default false */
  readonly matchOriginalDestination?: boolean;
  /** Matches only packets exempted from connection tracking (NodeLocal DNSCache). @default false */
  readonly untrackedOnly?: boolean;
  /** What the rule is for. */
  readonly description: string;
}

/**
 * The compiled policy of one NodeFirewall for nodes of one OS, as synth writes it (policy.json in
 * the `<name>-<os>-scripts` ConfigMap): everything a verdict depends on, as data.
 */
export interface HostPolicy {
  /** Always HOST_POLICY_KIND. */
  readonly kind: string;
  /** Layout version (HOST_POLICY_FORMAT). */
  readonly format: number;
  /** The NodeFirewall's name. */
  readonly firewall: string;
  /** The nodes this policy is rendered for. */
  readonly nodeOs: NodeOs;
  /** `iptables`, `nftables` or `windows-firewall`. */
  readonly backend: string;
  /** `enforce`, `audit` or `remove`. */
  readonly mode: FirewallMode;
  /** The cdk8s-hostnet version that synthesized it. */
  readonly version: string;
  /** What happens to UDP that no rule allows. */
  readonly udp: RuleAction;
  /** What happens to TCP that no rule allows. */
  readonly tcp: RuleAction;
  /**
   * Addresses NodeLocal DNSCache exempts from connection tracking (its raw-table NOTRACK rules for
   * port 53, to and from them); empty without NodeLocal DNSCache.
   */
  readonly untrackedDns: string[];
  /** The compiled rules, denies first, in the order the engines evaluate them. */
  readonly rules: HostPolicyRule[];
}

/** What a HostPolicy says besides its rules. */
export interface HostPolicyMeta {
  readonly firewall: string;
  readonly nodeOs: NodeOs;
  readonly backend: string;
  readonly mode: FirewallMode;
  readonly version: string;
  readonly untrackedDns: string[];
}

/** The document for a compiled policy. */
export function hostPolicy(policy: CompiledPolicy, meta: HostPolicyMeta): HostPolicy {
  const texts = (cidrs: Cidr[] | undefined) => cidrs?.map((c) => c.text);
  const ports = (ranges: PortRange[] | undefined) => ranges?.map((r) => r.toString());
  return {
    kind: HOST_POLICY_KIND,
    format: HOST_POLICY_FORMAT,
    ...meta,
    udp: policy.udp,
    tcp: policy.tcp,
    rules: policy.rules.map((r) => ({
      id: r.id,
      origin: r.origin,
      action: r.action,
      protocol: r.protocol,
      scope: r.scope,
      family: r.family,
      sources: texts(r.sources),
      destinations: texts(r.destinations),
      sourcePorts: ports(r.sourcePorts),
      destinationPorts: ports(r.destinationPorts),
      matchOriginalDestination: r.matchOriginalDestination || undefined,
      untrackedOnly: r.untrackedOnly || undefined,
      description: r.description,
    })),
  };
}

/** policy.json's text: one line per rule, so a diff of dist/ shows which rules changed. */
export function hostPolicyJson(doc: HostPolicy): string {
  const { rules, ...head } = doc;
  const lines = rules.map((r, i) => `  ${JSON.stringify(r)}${i < rules.length - 1 ? ',' : ''}`);
  const headText = JSON.stringify(head);
  return `${headText.slice(0, -1)},"rules":[\n${lines.join('\n')}\n]}\n`;
}

/**
 * Reads and checks a policy.json (already parsed JSON), throwing `<where>: <field> <value> <problem>`.
 * @returns the document and the compiled policy the evaluator runs on
 */
export function readHostPolicy(value: unknown, where: string): { doc: HostPolicy; compiled: CompiledPolicy } {
  const fail = (field: string, v: unknown, problem: string) =>
    new Error(`${where}: ${field} ${JSON.stringify(v)?.slice(0, 80) ?? 'undefined'} ${problem}`);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw fail('policy', typeof value, 'is not a JSON object');
  const doc = value as HostPolicy;
  if (doc.kind !== HOST_POLICY_KIND) throw fail('kind', doc.kind, `must be ${HOST_POLICY_KIND}`);
  if (doc.format !== HOST_POLICY_FORMAT) {
    throw fail('format', doc.format, `is not ${HOST_POLICY_FORMAT}: this cdk8s-hostnet reads format ${HOST_POLICY_FORMAT}; use the version that synthesized it`);
  }
  const oneOf = <T extends string>(field: string, v: unknown, allowed: T[]): T => {
    if (!allowed.includes(v as T)) throw fail(field, v, `must be one of ${allowed.join(', ')}`);
    return v as T;
  };
  oneOf('nodeOs', doc.nodeOs, Object.values(NodeOs));
  oneOf('mode', doc.mode, Object.values(FirewallMode));
  oneOf('udp', doc.udp, Object.values(RuleAction));
  oneOf('tcp', doc.tcp, Object.values(RuleAction));
  if (typeof doc.firewall !== 'string' || doc.firewall === '') throw fail('firewall', doc.firewall, 'must be a name');
  if (!Array.isArray(doc.untrackedDns)) throw fail('untrackedDns', doc.untrackedDns, 'must be a list');
  doc.untrackedDns.forEach((a, i) => cidr(`untrackedDns[${i}]`, a));
  if (!Array.isArray(doc.rules)) throw fail('rules', doc.rules, 'must be a list');

  function cidr(field: string, text: unknown): Cidr {
    const parsed = parseCidr(text as string);
    if (typeof parsed === 'string') throw fail(field, text, parsed);
    return parsed;
  }
  const cidrs = (field: string, list: unknown, family: Family) => {
    if (list === undefined) return undefined;
    if (!Array.isArray(list) || list.length === 0) throw fail(field, list, 'must be a non-empty list or be omitted');
    return list.map((t, i) => {
      const c = cidr(`${field}[${i}]`, t);
      if (c.family !== family) throw fail(`${field}[${i}]`, t, `is not ${family}, the rule's family`);
      return c;
    });
  };
  const ports = (field: string, list: unknown) => {
    if (list === undefined) return undefined;
    if (!Array.isArray(list) || list.length === 0) throw fail(field, list, 'must be a non-empty list or be omitted');
    return list.map((t, i) => {
      const range = PortRange.parse(String(t));
      if (!range || portRangeProblem(range)) throw fail(`${field}[${i}]`, t, 'is not a port or range within 1-65535');
      return range;
    });
  };
  const rules: CompiledRule[] = doc.rules.map((r, i) => {
    const at = `rules[${i}]`;
    if (typeof r !== 'object' || r === null) throw fail(at, r, 'is not an object');
    if (typeof r.id !== 'string' || r.id === '') throw fail(`${at}.id`, r.id, 'must be a rule id');
    const family = oneOf(`${at}.family`, r.family, ['ipv4', 'ipv6']);
    return {
      id: r.id,
      origin: oneOf(`${at}.origin`, r.origin, Object.values(RuleOrigin)),
      action: oneOf(`${at}.action`, r.action, Object.values(RuleAction)),
      protocol: oneOf(`${at}.protocol`, r.protocol, Object.values(Protocol)),
      scope: oneOf(`${at}.scope`, r.scope, Object.values(TrafficScope)),
      family,
      sources: cidrs(`${at}.sources`, r.sources, family),
      destinations: cidrs(`${at}.destinations`, r.destinations, family),
      sourcePorts: ports(`${at}.sourcePorts`, r.sourcePorts),
      destinationPorts: ports(`${at}.destinationPorts`, r.destinationPorts),
      matchOriginalDestination: r.matchOriginalDestination === true,
      untrackedOnly: r.untrackedOnly === true,
      description: String(r.description ?? ''),
    };
  });
  return { doc, compiled: { udp: doc.udp, tcp: doc.tcp, rules } };
}
