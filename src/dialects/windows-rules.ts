import { createHash } from 'crypto';
import { DEFAULT_FIREWALL_NAME, hostNames } from './host-names';
import { Box, Interval, normalise, smallestComplement } from './windows-complement';
import { Family, formatAddress, maxAddress } from '../policy/cidr';
import { CompiledPolicy, CompiledRule, deniedByDefault } from '../policy/compiled-policy';
import { PortRange } from '../policy/port-range';
import { Protocol, RuleAction, TrafficScope } from '../policy/protocol';

/**
 * The rule group of the default firewall's rules; another firewall's is `cdk8s-hostnet-<name>`
 * (host-names.ts). Never `k2s`: K2s removes that group on setup.
 */
export const WINDOWS_RULE_GROUP = hostNames(DEFAULT_FIREWALL_NAME).windowsGroup;

/**
 * Most addresses or ports one rule lists; longer lists are split over several rules. Reports put the
 * Windows limit between 500 and 1,000 addresses per rule, depending on the Windows version.
 */
export const MAX_LIST_ENTRIES = 500;

export type WindowsDirection = 'Inbound' | 'Outbound';

/** One Windows Firewall rule: New-NetFirewallRule's parameters. Undefined lists mean `Any`. */
export interface WindowsRule {
  /** Unique and stable: `cdk8s-hostnet-<key>-<hash of the content>` (`cdk8s-hostnet-<firewall>.<key>-<hash>` for other names). */
  readonly name: string;
  readonly displayName: string;
  readonly description: string;
  readonly direction: WindowsDirection;
  readonly action: 'Block';
  /** `UDP`, `TCP`, `ICMPv4`, `ICMPv6` or `Any`. */
  readonly protocol: string;
  readonly remoteAddress?: string[];
  readonly localAddress?: string[];
  readonly remotePort?: string[];
  readonly localPort?: string[];
}

/** Rules that share a purpose, with comment lines that say what it is. */
export interface WindowsRuleGroup {
  readonly comments: string[];
  readonly rules: WindowsRule[];
  /** The policy rule these Block rules enforce: a deny rule's id, or `default-deny-<protocol>`. */
  readonly ruleId: string;
  /** Block rules over the complement of a default-deny protocol's exemptions (not a deny rule's). */
  readonly defaultDeny: boolean;
}

/** What a Windows host gets from a compiled policy. */
export interface WindowsRulePlan {
  readonly groups: WindowsRuleGroup[];
  /** Policy rules with no Windows equivalent, each with the reason. */
  readonly skipped: string[];
  /** Policy rules rendered with a caveat. */
  readonly notes: string[];
}

// Dimensions of a box: what one Windows rule can match, apart from protocol and direction.
const REMOTE_ADDRESS = 0;
const LOCAL_ADDRESS = 1;
const REMOTE_PORT = 2;
const LOCAL_PORT = 3;
// ports 1-65535, as the policy validates them: port 0 carries no real traffic, and a value Windows
// might refuse would fail the whole apply
const PORTS: Interval = { from: 1n, to: 65535n };
const FAMILIES: Family[] = ['ipv4', 'ipv6'];
const BITS: Record<Family, number> = { ipv4: 32, ipv6: 128 };
// Addresses first suits exemptions that share few port sets (DNS to many resolvers); ports first
// suits the opposite. Both are tried and the smaller rule set wins.
const SWEEP_ORDERS = [[REMOTE_ADDRESS, LOCAL_ADDRESS, REMOTE_PORT, LOCAL_PORT], [REMOTE_PORT, LOCAL_PORT, REMOTE_ADDRESS, LOCAL_ADDRESS]];

const DIRECTIONS: { scope: TrafficScope; direction: WindowsDirection; word: string; key: string }[] = [
  { scope: TrafficScope.NODE_INGRESS, direction: 'Inbound', word: 'inbound', key: 'in' },
  { scope: TrafficScope.NODE_EGRESS, direction: 'Outbound', word: 'outbound', key: 'out' },
];

/**
 * Turns a compiled policy into Windows Firewall Block rules. A protocol denied by default becomes
 * Block rules over the exact complement of its exemptions (allow rules), per direction; explicit
 * deny rules become plain Block rules. nodeIngress maps to Inbound (remote = source, local port =
 * destination port), nodeEgress to Outbound (remote = destination, remote port = destination port).
 */
export function planWindowsRules(policy: CompiledPolicy, name: string): WindowsRulePlan {
  const prefix = hostNames(name).windowsRulePrefix;
  const skipped = new Map<string, string>();
  const notes = new Map<string, string>();
  const usable = policy.rules.filter((rule) => {
    if (rule.scope === TrafficScope.POD_FORWARD) {
      skipped.set(`${rule.id}:fwd`, `${rule.id} (podForward): pod traffic is switched by the vSwitch (HNS/VFP), never by the host firewall`);
      return false;
    }
    if (rule.untrackedOnly) {
      skipped.set(`${rule.id}:untracked`, `${rule.id} (untrackedOnly): NOTRACK is a Linux conntrack concept (NodeLocal DNSCache)`);
      return false;
    }
    if (rule.matchOriginalDestination) {
      notes.set(rule.id, `${rule.id}: destinations matched as addressed (no DNAT happens before the host firewall on Windows)`);
    }
    return true;
  });

  const groups: WindowsRuleGroup[] = [];
  for (const protocol of deniedByDefault(policy)) {
    for (const dir of DIRECTIONS) {
      groups.push(defaultDenyGroup(usable, protocol, dir, name, prefix));
    }
  }
  const denies = usable.filter((r) => r.action === RuleAction.DENY);
  for (const dir of DIRECTIONS) {
    const ids = [...new Set(denies.filter((r) => r.scope === dir.scope).map((r) => r.id))];
    for (const id of ids) groups.push(denyGroup(denies.filter((r) => r.id === id && r.scope === dir.scope), dir, name, prefix));
  }
  return { groups, skipped: [...skipped.values()], notes: [...notes.values()] };
}

/** Block rules over everything the exemptions of one protocol and direction leave out. */
function defaultDenyGroup(rules: CompiledRule[], protocol: Protocol, dir: typeof DIRECTIONS[number], name: string, prefix: string): WindowsRuleGroup {
  const exemptions = rules.filter((r) => r.action === RuleAction.ALLOW && r.scope === dir.scope
    && (r.protocol === protocol || r.protocol === Protocol.ANY));
  const boxes = FAMILIES.map((family) => smallestComplement(
    exemptions.filter((r) => r.family === family).map((r) => ruleBox(r, dir.direction)),
    [fullAddresses(family), fullAddresses(family), PORTS, PORTS],
    SWEEP_ORDERS,
  ));
  const merged = mergeFamilies(boxes[0], boxes[1]);
  const ids = [...new Set(exemptions.map((r) => r.id))];
  const comments = [`${protocol} ${dir.word}: denied by default. Block rules over exactly what these exemptions leave out:`];
  for (const id of ids) {
    const same = exemptions.filter((r) => r.id === id);
    comments.push(`  ${id} (${same.map((r) => r.family).join(', ')}): ${same[0].description}`);
  }
  if (ids.length === 0) comments.push(`  (none: all ${protocol} ${dir.word} is blocked)`);
  const listed = ids.length > 8 ? `${ids.slice(0, 8).join(', ')} and ${ids.length - 8} more` : ids.join(', ') || 'none';
  const parts = merged.flatMap((box) => chunk(box, protocol.toUpperCase(), false));
  return {
    comments,
    ruleId: `default-deny-${protocol}`,
    defaultDeny: true,
    rules: parts.map((part, i) => finish(prefix, part, `${protocol}-${dir.key}-${i + 1}`, dir.direction,
      `${name}: block ${protocol} ${dir.word} except exemptions (${i + 1} of ${parts.length})`,
      `cdk8s-hostnet NodeFirewall ${name}: ${protocol} is denied by default; this rule blocks ${dir.word} ${protocol} that no exemption allows `
      + `(part ${i + 1} of ${parts.length}). Windows Firewall has no rule order and Block beats Allow, so the exemptions are holes in `
      + `these Block rules. Exemptions: ${listed}.`)),
  };
}

/** One user deny rule (both families of it) as plain Block rules. */
function denyGroup(variants: CompiledRule[], dir: typeof DIRECTIONS[number], name: string, prefix: string): WindowsRuleGroup {
  const rule = variants[0];
  const boxesOf = (list: CompiledRule[]) => list.map((r) => ({ family: r.family, box: ruleBox(r, dir.direction) }));
  // ICMP is two protocols on Windows (ICMPv4, ICMPv6); anything else fits both families in one rule
  const sets = rule.protocol === Protocol.ICMP
    ? variants.map((r) => ({ protocol: r.family === 'ipv4' ? 'ICMPv4' : 'ICMPv6', families: [boxesOf([r])] }))
    : [{ protocol: rule.protocol === Protocol.ANY ? 'Any' : rule.protocol.toUpperCase(), families: [boxesOf(variants)] }];
  const parts = sets.flatMap((set) => set.families.flatMap((familyBoxes) =>
    chunk(toWindowsBox(familyBoxes), set.protocol, rule.protocol === Protocol.ICMP)));
  const key = (i: number) => `deny-${rule.id}-${dir.key}${parts.length > 1 ? `-${i + 1}` : ''}`;
  return {
    comments: [`${rule.id} (${rule.origin} deny, ${rule.protocol} ${dir.word}): ${rule.description}`],
    ruleId: rule.id,
    defaultDeny: false,
    rules: parts.map((part, i) => finish(prefix, part, key(i), dir.direction,
      `${name}: ${rule.id} (deny ${rule.protocol} ${dir.word})`, `${rule.id}: ${rule.description}`)),
  };
}

/** The packets a policy rule matches, in Windows terms (remote/local instead of source/destination). */
function ruleBox(rule: CompiledRule, direction: WindowsDirection): Box {
  const addresses = (list: CompiledRule['sources']) => list ? list.map((c) => ({ from: c.first, to: c.last })) : [fullAddresses(rule.family)];
  const ports = (list: PortRange[] | undefined) => list ? list.map((p) => ({ from: BigInt(p.from), to: BigInt(p.to) })) : [PORTS];
  const box: Interval[][] = [];
  const inbound = direction === 'Inbound';
  box[REMOTE_ADDRESS] = addresses(inbound ? rule.sources : rule.destinations);
  box[LOCAL_ADDRESS] = addresses(inbound ? rule.destinations : rule.sources);
  box[REMOTE_PORT] = ports(inbound ? rule.sourcePorts : rule.destinationPorts);
  box[LOCAL_PORT] = ports(inbound ? rule.destinationPorts : rule.sourcePorts);
  return box.map(normalise);
}

/** A box whose address sets may span both families: one Windows rule's worth of matching. */
interface WindowsBox {
  readonly families: Family[];
  readonly remote: Map<Family, Interval[]>;
  readonly local: Map<Family, Interval[]>;
  readonly remotePort: readonly Interval[];
  readonly localPort: readonly Interval[];
}

function toWindowsBox(boxes: { family: Family; box: Box }[]): WindowsBox {
  const remote = new Map<Family, Interval[]>();
  const local = new Map<Family, Interval[]>();
  for (const { family, box } of boxes) {
    remote.set(family, [...box[REMOTE_ADDRESS]]);
    local.set(family, [...box[LOCAL_ADDRESS]]);
  }
  // the variants of one rule share their ports; the complement pairs only boxes with equal ports
  return { families: boxes.map((b) => b.family), remote, local, remotePort: boxes[0].box[REMOTE_PORT], localPort: boxes[0].box[LOCAL_PORT] };
}

/**
 * Pairs IPv4 and IPv6 boxes that block the same ports into one rule. A packet has one family, so a
 * rule listing `A4, A6` as remote and `L4, L6` as local addresses matches exactly A4×L4 ∪ A6×L6.
 */
function mergeFamilies(v4: Box[], v6: Box[]): WindowsBox[] {
  const portKey = (box: Box) => [box[REMOTE_PORT], box[LOCAL_PORT]].map((set) => set.map((i) => `${i.from}-${i.to}`).join(',')).join('|');
  const unpaired = [...v6];
  const result: WindowsBox[] = [];
  for (const box of v4) {
    const match = unpaired.findIndex((other) => portKey(other) === portKey(box));
    if (match < 0) {
      result.push(toWindowsBox([{ family: 'ipv4', box }]));
    } else {
      result.push(toWindowsBox([{ family: 'ipv4', box }, { family: 'ipv6', box: unpaired[match] }]));
      unpaired.splice(match, 1);
    }
  }
  return [...result, ...unpaired.map((box) => toWindowsBox([{ family: 'ipv6', box }]))];
}

type RuleParts = Omit<WindowsRule, 'name' | 'displayName' | 'description' | 'direction' | 'action'>;

/**
 * Address and port lists in Windows notation, split so that no list exceeds MAX_LIST_ENTRIES.
 * A full address set becomes `Any` where that cannot widen the rule to the other family: when the
 * rule covers both families, the protocol is family-specific (ICMPv4/ICMPv6), or the other
 * address list already pins the family.
 */
function chunk(box: WindowsBox, protocol: string, protocolPinsFamily: boolean): RuleParts[] {
  const full = (sets: Map<Family, Interval[]>) => box.families.every((f) => isFull(sets.get(f) ?? [], f));
  const remoteFull = full(box.remote);
  const localFull = full(box.local);
  const anyOk = box.families.length === 2 || protocolPinsFamily;
  const remoteAny = remoteFull && (anyOk || !localFull);
  const localAny = localFull && (anyOk || !remoteAny);
  const addresses = (sets: Map<Family, Interval[]>) => box.families.flatMap((f) => (sets.get(f) ?? []).map((i) => formatInterval(f, i)));
  const ports = (set: readonly Interval[]) => isPortsFull(set) ? undefined : set.map((i) => (i.from === i.to ? `${i.from}` : `${i.from}-${i.to}`));
  const hasPorts = protocol === 'UDP' || protocol === 'TCP';
  const lists = {
    remoteAddress: remoteAny ? undefined : addresses(box.remote),
    localAddress: localAny ? undefined : addresses(box.local),
    remotePort: hasPorts ? ports(box.remotePort) : undefined,
    localPort: hasPorts ? ports(box.localPort) : undefined,
  };
  let parts: RuleParts[] = [{ protocol }];
  for (const [field, list] of Object.entries(lists) as [keyof typeof lists, string[] | undefined][]) {
    if (!list) continue;
    const slices: string[][] = [];
    for (let i = 0; i < list.length; i += MAX_LIST_ENTRIES) slices.push(list.slice(i, i + MAX_LIST_ENTRIES));
    parts = parts.flatMap((part) => slices.map((slice) => ({ ...part, [field]: slice })));
  }
  return parts;
}

function finish(prefix: string, parts: RuleParts, key: string, direction: WindowsDirection, displayName: string, description: string): WindowsRule {
  const content = { displayName, description, direction, action: 'Block' as const, ...parts };
  const hash = createHash('sha256').update(JSON.stringify(content)).digest('hex').slice(0, 8);
  return { name: `${prefix}${key}-${hash}`, ...content };
}

function fullAddresses(family: Family): Interval {
  return { from: 0n, to: maxAddress(family) };
}

function isFull(set: readonly Interval[], family: Family): boolean {
  return set.length === 1 && set[0].from === 0n && set[0].to === maxAddress(family);
}

function isPortsFull(set: readonly Interval[]): boolean {
  return set.length === 1 && set[0].from === PORTS.from && set[0].to === PORTS.to;
}

/** `10.0.0.1`, `10.0.0.0/8` when the interval is exactly a CIDR block, else `a-b` (Windows range notation). */
export function formatInterval(family: Family, interval: Interval): string {
  const { from, to } = interval;
  if (from === to) return formatAddress(family, from);
  const size = to - from + 1n;
  const hostBits = size.toString(2).length - 1;
  const isBlock = size === 1n << BigInt(hostBits) && from % size === 0n; // eslint-disable-line no-bitwise
  // a /0 is written as a range: that keeps it to one family wherever Windows reads it
  if (isBlock && hostBits < BITS[family]) return `${formatAddress(family, from)}/${BITS[family] - hostBits}`;
  return `${formatAddress(family, from)}-${formatAddress(family, to)}`;
}
