import { Cidr, Family, cidrContains, cidrsOverlap, parseCidr } from './cidr';
import { CompiledPolicy, CompiledRule } from './compiled-policy';
import { FirewallRuleProps, NamedRule, RuleOrigin } from './firewall-rule';
import { NodeOs } from './node-os';
import { firstCidrOverlap, firstPortOverlap } from './overlap';
import { PortRange, portRangeProblem, rangesOverlap } from './port-range';
import { Protocol, RuleAction, TrafficScope, hasPorts } from './protocol';
import { ruleError } from './rule-errors';
import { cheapestAllowsFirst } from './rule-order';

/** What a policy is to the compiler (FirewallPolicy has it; FirewallPolicy's addRule uses `checkRule`, so no import back). */
interface PolicyData {
  readonly udp: RuleAction;
  readonly tcp: RuleAction;
  readonly rules: NamedRule[];
}

const RULE_ID = /^[a-z0-9]([a-z0-9-]{0,46}[a-z0-9])?$/;
// Descriptions end up in script comments and PowerShell strings: one printable line.
const DESCRIPTION = /^[\x20-\x7e]{1,200}$/;
const SCOPES = new Set<string>(Object.values(TrafficScope));
const PROTOCOLS = new Set<string>(Object.values(Protocol));
const ACTIONS = new Set<string>(Object.values(RuleAction));
const NODE_OS = new Set<string>(Object.values(NodeOs));

/**
 * Checks a policy together with the failsafe rules that keep the node alive, and returns the rules
 * per family and scope. Throws on the first problem, naming `path`, the rule, the field and the value.
 */
export function compilePolicy(path: string, policy: PolicyData, failsafes: NamedRule[], os?: NodeOs): CompiledPolicy {
  for (const rule of policy.rules) checkNodeOs(path, rule);
  const forThisOs = policy.rules.filter((r) => appliesTo(r, os));
  const all = [...failsafes, ...forThisOs];
  const seen = new Set<string>();
  for (const rule of all) checkId(path, rule.id, seen);
  const compiled = all.flatMap((rule) => compileRule(path, rule));
  checkEffects(path, policy, compiled);
  const denies = compiled.filter((r) => r.action === RuleAction.DENY);
  const allows = compiled.filter((r) => r.action === RuleAction.ALLOW && isDefaultDeny(policy, r.protocol));
  return { udp: policy.udp, tcp: policy.tcp, rules: [...denies, ...cheapestAllowsFirst(allows)] };
}

/**
 * Checks one rule on its own, as `FirewallPolicy.addRule` does: its id (also against the ids of
 * `earlier` rules), node OSs and fields. What needs the failsafes or the other rules' effects
 * (a deny cutting a failsafe, an allow a deny covers) is left to `compilePolicy`.
 */
export function checkRule(path: string, rule: NamedRule, earlier: readonly NamedRule[]): void {
  checkId(path, rule.id, new Set(earlier.map((r) => r.id)));
  checkNodeOs(path, rule);
  compileRule(path, rule);
}

/** Refuses a malformed id, or one in `seen`; adds it to `seen`. */
function checkId(path: string, id: string, seen: Set<string>): void {
  if (!RULE_ID.test(id)) {
    throw ruleError(path, id, 'id', id, 'must be 1-48 lowercase letters, digits or dashes, starting and ending with a letter or digit');
  }
  if (seen.has(id)) throw ruleError(path, id, 'id', id, 'is declared twice; rule ids must be unique');
  seen.add(id);
}

function checkNodeOs(path: string, rule: NamedRule): void {
  const list = rule.props.nodeOs;
  if (list === undefined) return;
  if (!Array.isArray(list) || list.length === 0) throw ruleError(path, rule.id, 'nodeOs', list, 'must list linux, windows or both, or be omitted for every node');
  for (const os of list) {
    if (!NODE_OS.has(os)) throw ruleError(path, rule.id, 'nodeOs', os, `must be one of ${[...NODE_OS].join(', ')}`);
  }
}

function compileRule(path: string, rule: NamedRule): CompiledRule[] {
  const p: FirewallRuleProps = rule.props;
  const fail = (field: string, value: unknown, problem: string) => ruleError(path, rule.id, field, value, problem);
  if (!ACTIONS.has(p.action)) throw fail('action', p.action, `must be one of ${[...ACTIONS].join(', ')}`);
  if (!PROTOCOLS.has(p.protocol)) throw fail('protocol', p.protocol, `must be one of ${[...PROTOCOLS].join(', ')}`);
  if (!Array.isArray(p.scopes) || p.scopes.length === 0) throw fail('scopes', p.scopes, 'must list at least one scope');
  for (const scope of p.scopes) {
    if (!SCOPES.has(scope)) throw fail('scopes', scope, `must be one of ${[...SCOPES].join(', ')}`);
  }
  if (new Set(p.scopes).size !== p.scopes.length) throw fail('scopes', p.scopes, 'lists a scope twice');
  if (typeof p.description !== 'string' || !DESCRIPTION.test(p.description)) {
    throw fail('description', p.description, 'must be one line of 1-200 printable ASCII characters');
  }
  const sources = checkCidrs(p.sources, 'sources', fail);
  const destinations = checkCidrs(p.destinations, 'destinations', fail);
  const destinationPorts = checkPorts(p.destinationPorts, 'destinationPorts', p.protocol, fail);
  const sourcePorts = checkPorts(p.sourcePorts, 'sourcePorts', p.protocol, fail);
  if (p.matchOriginalDestination && !destinations) {
    throw fail('matchOriginalDestination', true, 'needs destinations (the addresses clients use before DNAT)');
  }
  if (p.overrideFailsafe && (rule.origin !== RuleOrigin.USER || p.action !== RuleAction.DENY)) {
    throw fail('overrideFailsafe', true, 'only applies to deny rules');
  }

  const families = familiesOf(sources, destinations);
  if (families.length === 0) {
    throw fail('sources', p.sources, `and destinations ${JSON.stringify(p.destinations)} share no address family, so the rule can never match`);
  }
  return families.flatMap((family) => p.scopes.map((scope) => ({
    id: rule.id,
    origin: rule.origin,
    action: p.action,
    protocol: p.protocol,
    scope,
    family,
    sources: sources?.filter((c) => c.family === family),
    destinations: destinations?.filter((c) => c.family === family),
    destinationPorts,
    sourcePorts,
    matchOriginalDestination: p.matchOriginalDestination ?? false,
    untrackedOnly: p.untrackedOnly ?? false,
    description: p.description,
  })));
}

type Fail = (field: string, value: unknown, problem: string) => Error;

function checkCidrs(values: string[] | undefined, field: string, fail: Fail): Cidr[] | undefined {
  if (values === undefined) return undefined;
  if (!Array.isArray(values) || values.length === 0) throw fail(field, values, 'must list at least one CIDR, or be omitted for any');
  const parsed: Cidr[] = [];
  let problem: string | undefined;
  for (const value of values) {
    const cidr = parseCidr(value);
    if (typeof cidr === 'string') {
      problem = cidr;
      break;
    }
    parsed.push(cidr);
  }
  // An overlap among the entries before a malformed one is the first mistake in the list.
  const overlap = firstCidrOverlap(parsed);
  if (overlap) throw fail(field, values[overlap.index], `overlaps ${parsed[overlap.clash].text} in the same list; list each address once`);
  if (problem !== undefined) throw fail(field, values[parsed.length], problem);
  return parsed;
}

function checkPorts(values: PortRange[] | undefined, field: string, protocol: Protocol, fail: Fail): PortRange[] | undefined {
  if (values === undefined) return undefined;
  if (!hasPorts(protocol)) throw fail(field, values.map(String), `cannot be used with protocol ${protocol}; ports exist for udp and tcp only`);
  if (!Array.isArray(values) || values.length === 0) throw fail(field, values, 'must list at least one port, or be omitted for any');
  const valid = values.findIndex((range) => portRangeProblem(range) !== undefined);
  const checked = valid < 0 ? values : values.slice(0, valid);
  const overlap = firstPortOverlap(checked);
  if (overlap) throw fail(field, checked[overlap.index].toString(), `overlaps ${checked[overlap.clash].toString()} in the same list`);
  if (valid >= 0) throw fail(field, values[valid].toString(), portRangeProblem(values[valid])!);
  return [...checked];
}

function familiesOf(sources: Cidr[] | undefined, destinations: Cidr[] | undefined): Family[] {
  const has = (list: Cidr[] | undefined, f: Family) => list === undefined || list.some((c) => c.family === f);
  return (['ipv4', 'ipv6'] as Family[]).filter((f) => has(sources, f) && has(destinations, f));
}

function isDefaultDeny(policy: PolicyData, protocol: Protocol): boolean {
  if (protocol === Protocol.UDP) return policy.udp === RuleAction.DENY;
  if (protocol === Protocol.TCP) return policy.tcp === RuleAction.DENY;
  if (protocol === Protocol.ANY) return policy.udp === RuleAction.DENY || policy.tcp === RuleAction.DENY;
  return false;
}

/**
 * Refuses user rules that can have no effect, contradict each other, or cut a failsafe. A rule is
 * judged as a whole (all its families and scopes): one live part is enough to keep it.
 */
function checkEffects(path: string, policy: PolicyData, rules: CompiledRule[]) {
  const allows = rules.filter((r) => r.action === RuleAction.ALLOW);
  const denies = rules.filter((r) => r.action === RuleAction.DENY);
  // one pass, not one scan of every rule per id: policies may hold thousands of rules
  const byId = new Map<string, CompiledRule[]>();
  for (const rule of rules) {
    const list = byId.get(rule.id);
    if (list) list.push(rule);
    else byId.set(rule.id, [rule]);
  }
  const partsOf = (id: string) => byId.get(id)!;
  const userIds = (list: CompiledRule[]) => [...new Set(list.filter((r) => r.origin === RuleOrigin.USER).map((r) => r.id))];

  for (const id of userIds(allows)) judgeAllow(path, policy, id, partsOf(id), denies);
  for (const id of userIds(denies)) judgeDeny(path, policy, id, partsOf(id), allows, ruleOverrides(policy, id));
}

/** An allow rule (its compiled parts) must matter: its protocol denied by default, and not every part covered by a deny. */
function judgeAllow(path: string, policy: PolicyData, id: string, parts: CompiledRule[], denies: readonly CompiledRule[]): void {
  if (!isDefaultDeny(policy, parts[0].protocol)) {
    throw ruleError(path, id, 'protocol', parts[0].protocol, 'is allowed by default, so this allow rule has no effect (deny beats allow: add a deny rule instead, or deny the protocol by default)');
  }
  const shadows = parts.map((part) => denies.find((deny) => covers(deny, part)));
  if (shadows.every((s) => s !== undefined)) {
    throw ruleError(path, id, 'action', 'allow', `contradicts deny rule '${shadows[0]!.id}', which covers all of it (deny beats allow)`);
  }
}

/** A deny rule must not cut a failsafe (unless overridden) and, under a deny default, must carve out of some allow. */
function judgeDeny(path: string, policy: PolicyData, id: string, parts: CompiledRule[], allows: readonly CompiledRule[], overridden: boolean): void {
  const failsafe = parts.map((part) => allows.find((a) => a.origin === RuleOrigin.FAILSAFE && intersects(part, a))).find((a) => a);
  if (failsafe && !overridden) {
    throw ruleError(path, id, 'action', 'deny', `would cut failsafe '${failsafe.id}' (${failsafe.description}); set overrideFailsafe: true if that is intended`);
  }
  const protocol = parts[0].protocol;
  if (isDefaultDeny(policy, protocol) && protocol !== Protocol.ANY && !parts.some((part) => allows.some((a) => intersects(part, a)))) {
    throw ruleError(path, id, 'protocol', protocol, 'is denied by default and no allow rule overlaps this deny rule, so it has no effect');
  }
}

/**
 * compilePolicy's checks kept up to date rule by rule, for a NodeFirewall that checks its policy at
 * every addRule: each rule is compiled once and judged against the rules it can meet, so n
 * additions cost about n rule compiles, where compilePolicy at every addRule would cost n².
 * Synth still compiles the whole policy with compilePolicy.
 */
export class IncrementalPolicyCheck {
  private readonly ids = new Set<string>();
  private readonly allows: CompiledRule[] = [];
  private readonly denies: CompiledRule[] = [];
  private readonly userAllows = new Map<string, CompiledRule[]>();

  /** Checks `policy` with `failsafes` as compilePolicy does (throwing as it does), and keeps the result. */
  public constructor(private readonly path: string, private readonly policy: PolicyData, failsafes: NamedRule[], private readonly os?: NodeOs) {
    compilePolicy(path, policy, failsafes, os);
    for (const rule of [...failsafes, ...policy.rules.filter((r) => appliesTo(r, os))]) this.record(rule, compileRule(path, rule));
  }

  /**
   * Checks `rule` as compilePolicy would with it declared last, changing nothing: throws the first
   * problem, else returns its compiled parts for `record` (none when it is for another node OS).
   */
  public check(rule: NamedRule): CompiledRule[] {
    checkNodeOs(this.path, rule);
    if (!appliesTo(rule, this.os)) return [];
    // (a set of its own: checkId adds to the set it is given, and a refused rule must leave no trace)
    checkId(this.path, rule.id, new Set(this.ids.has(rule.id) ? [rule.id] : []));
    const parts = compileRule(this.path, rule);
    if (rule.props.action === RuleAction.ALLOW) {
      judgeAllow(this.path, this.policy, rule.id, parts, this.denies);
    } else {
      // an allow this deny meets may now be covered entirely: judged first, as compilePolicy does
      for (const [id, allowParts] of this.userAllows) {
        const meets = allowParts.some((a) => parts.some((d) => intersects(a, d)));
        if (meets) judgeAllow(this.path, this.policy, id, allowParts, [...this.denies, ...parts]);
      }
      judgeDeny(this.path, this.policy, rule.id, parts, this.allows, rule.props.overrideFailsafe === true);
    }
    return parts;
  }

  /** Keeps a rule that `check` passed, with its parts. */
  public record(rule: NamedRule, parts: CompiledRule[]): void {
    if (parts.length === 0) return;
    this.ids.add(rule.id);
    (rule.props.action === RuleAction.ALLOW ? this.allows : this.denies).push(...parts);
    if (rule.origin === RuleOrigin.USER && rule.props.action === RuleAction.ALLOW) this.userAllows.set(rule.id, parts);
  }
}

function appliesTo(rule: NamedRule, os: NodeOs | undefined): boolean {
  return os === undefined || rule.props.nodeOs === undefined || rule.props.nodeOs.includes(os);
}

function ruleOverrides(policy: PolicyData, id: string): boolean {
  return policy.rules.some((r) => r.id === id && r.props.overrideFailsafe === true);
}

function protocolsMeet(a: Protocol, b: Protocol): boolean {
  return a === b || a === Protocol.ANY || b === Protocol.ANY;
}

function listsMeet<T>(a: T[] | undefined, b: T[] | undefined, meet: (x: T, y: T) => boolean): boolean {
  return !a || !b || a.some((x) => b.some((y) => meet(x, y)));
}

/** Both rules can match one packet. */
export function intersects(a: CompiledRule, b: CompiledRule): boolean {
  return a.family === b.family && a.scope === b.scope && protocolsMeet(a.protocol, b.protocol)
    && listsMeet(a.sources, b.sources, cidrsOverlap) && listsMeet(a.destinations, b.destinations, cidrsOverlap)
    && listsMeet(a.destinationPorts, b.destinationPorts, rangesOverlap) && listsMeet(a.sourcePorts, b.sourcePorts, rangesOverlap);
}

/** Every packet `inner` matches, `outer` matches too. */
function covers(outer: CompiledRule, inner: CompiledRule): boolean {
  const within = <T>(o: T[] | undefined, i: T[] | undefined, contains: (x: T, y: T) => boolean) =>
    !o || (!!i && i.every((y) => o.some((x) => contains(x, y))));
  return outer.family === inner.family && outer.scope === inner.scope
    && (outer.protocol === inner.protocol || outer.protocol === Protocol.ANY)
    && !outer.untrackedOnly && !outer.matchOriginalDestination
    && within(outer.sources, inner.sources, cidrContains) && within(outer.destinations, inner.destinations, cidrContains)
    && within(outer.destinationPorts, inner.destinationPorts, (x, y) => x.from <= y.from && y.to <= x.to)
    && within(outer.sourcePorts, inner.sourcePorts, (x, y) => x.from <= y.from && y.to <= x.to);
}
