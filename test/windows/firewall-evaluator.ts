// A test-side model of Windows Firewall: it reads the rules out of PowerShell script TEXT (the
// tree-sitter AST, never the renderer's internals) and decides flows the way Windows does:
//   any matching enabled Block rule -> blocked (Block beats Allow; rules have no order)
//   else any matching enabled Allow rule -> allowed
//   else the profile default: inbound block, outbound allow
// and replies to an allowed flow pass (the firewall is stateful).
// https://learn.microsoft.com/windows/security/operating-system-security/network-security/windows-firewall/rules
import * as ipaddr from 'ipaddr.js';
import { Node } from 'web-tree-sitter';
import { allNodes, parsePowerShell, parseProblems, verbatimValue } from './powershell-parser';

export type Direction = 'Inbound' | 'Outbound';

/** One rule as New-NetFirewallRule would create it; undefined lists mean Any. */
export interface ParsedRule {
  readonly name: string;
  readonly displayName: string;
  readonly description: string;
  readonly direction: Direction;
  readonly action: 'Allow' | 'Block';
  readonly enabled: boolean;
  /** `UDP`, `TCP`, `ICMPV4`, `ICMPV6` or `ANY` (upper case). */
  readonly protocol: string;
  readonly remoteAddress?: string[];
  readonly localAddress?: string[];
  readonly remotePort?: string[];
  readonly localPort?: string[];
}

/** A packet flow as the host sees it. */
export interface Flow {
  readonly direction: Direction;
  readonly protocol: 'UDP' | 'TCP';
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localPort: number;
  /** Needed only when a rule lists local addresses. */
  readonly localAddress?: string;
  /** Set when this packet answers that flow (opposite direction). */
  readonly replyTo?: Flow;
}

export interface Verdict {
  readonly allowed: boolean;
  /** The deciding rule's name, or `default` or `reply`. */
  readonly by: string;
}

const PARAMETERS = ['Name', 'DisplayName', 'Description', 'Direction', 'Action', 'Enabled', 'Protocol',
  'RemoteAddress', 'LocalAddress', 'RemotePort', 'LocalPort', 'Group', 'Profile', 'PolicyStore'];

/**
 * Reads every rule a script creates: hashtables in a `$Rules = @(...)` array that a
 * `New-NetFirewallRule @spec` loop applies, and literal `New-NetFirewallRule -Param value` calls.
 */
export async function readRules(script: string): Promise<ParsedRule[]> {
  const tree = await parsePowerShell(script);
  const problems = parseProblems(tree);
  if (problems.length) throw new Error(`script does not parse:\n${problems.join('\n')}`);
  const rules: ParsedRule[] = [];
  let fromData = 0;
  let splatted = false;
  const hashes = (node: Node) => {
    if (node.type === 'hash_literal_expression') {
      rules.push(toRule(hashParameters(node)));
      fromData++;
      return;
    }
    for (const child of node.children) if (child) hashes(child);
  };
  const walk = (node: Node) => {
    if (node.type === 'assignment_expression' && /^\$Rules$/i.test(node.firstChild?.text.trim() ?? '')) {
      hashes(node);
      return;
    }
    if (node.type === 'command' && /^New-NetFirewallRule$/i.test(node.childForFieldName('command_name')?.text ?? '')) {
      const elements = node.children.find((c) => c?.type === 'command_elements');
      if (elements && [...allNodes(elements)].some((n) => n.type === 'variable' && n.text.startsWith('@'))) {
        splatted = true; // the generic loop over $Rules
      } else {
        rules.push(toRule(commandParameters(node)));
      }
    }
    for (const child of node.children) if (child) walk(child);
  };
  walk(tree.rootNode);
  if (fromData > 0 && !splatted) throw new Error('rules are given as data but no New-NetFirewallRule @spec loop applies them');
  return rules;
}

/** The literal values under a node: single-quoted strings, bare words, integers. Anything else throws. */
function literalValues(node: Node): string[] {
  const unresolved = node.descendantsOfType(['variable', 'sub_expression', 'command', 'expandable_string_literal', 'script_block']);
  if (unresolved.length) throw new UnresolvedValue(unresolved[0]!.text);
  return node.descendantsOfType(['string_literal', 'generic_token', 'decimal_integer_literal'])
    .map((n) => (n!.type === 'string_literal' ? verbatimValue(n!) : n!.text));
}

class UnresolvedValue extends Error {}

function hashParameters(hash: Node): Map<string, string[]> {
  const params = new Map<string, string[]>();
  const body = hash.children.find((c) => c?.type === 'hash_literal_body');
  for (const entry of body?.children ?? []) {
    if (entry?.type !== 'hash_entry') continue;
    const key = entry.children.find((c) => c?.type === 'key_expression')?.text ?? '';
    const value = entry.children.find((c) => c?.type === 'pipeline');
    if (!value) throw new Error(`hashtable entry ${key} has no value`);
    params.set(canonical(key), literalValues(value));
  }
  return params;
}

function commandParameters(command: Node): Map<string, string[]> {
  const params = new Map<string, string[]>();
  const elements = command.children.find((c) => c?.type === 'command_elements');
  let current: string | undefined;
  for (const child of elements?.children ?? []) {
    if (!child || child.type === 'command_argument_sep') continue;
    if (child.type === 'command_parameter') {
      current = canonical(child.text.replace(/^-/, '').replace(/:$/, ''));
      params.set(current, []);
      continue;
    }
    if (!current) throw new Error(`positional argument ${child.text} in ${command.text}`);
    try {
      params.get(current)!.push(...literalValues(child));
    } catch (e) {
      if (!(e instanceof UnresolvedValue) || ['Group', 'PolicyStore'].indexOf(current) < 0) throw e;
      params.set(current, ['(unresolved)']); // where the rule is stored does not change what it matches
    }
  }
  return params;
}

function canonical(parameter: string): string {
  const match = PARAMETERS.find((p) => p.toLowerCase() === parameter.toLowerCase());
  if (!match) throw new Error(`parameter -${parameter} is not modelled by the evaluator`);
  return match;
}

function toRule(params: Map<string, string[]>): ParsedRule {
  const one = (key: string, fallback?: string) => {
    const v = params.get(key);
    if (v === undefined) {
      if (fallback === undefined) throw new Error(`rule without ${key}: ${JSON.stringify([...params])}`);
      return fallback;
    }
    if (v.length !== 1) throw new Error(`${key} must have one value, got ${JSON.stringify(v)}`);
    return v[0];
  };
  const list = (key: string) => {
    const v = params.get(key);
    return v === undefined || (v.length === 1 && v[0].toLowerCase() === 'any') ? undefined : v;
  };
  const direction = one('Direction', 'Inbound'); // New-NetFirewallRule's defaults
  const action = one('Action', 'Allow');
  if (!['Inbound', 'Outbound'].includes(direction)) throw new Error(`Direction ${direction}`);
  if (!['Allow', 'Block'].includes(action)) throw new Error(`Action ${action} is not modelled`);
  const displayName = one('DisplayName');
  return {
    name: one('Name', displayName),
    displayName,
    description: one('Description', ''),
    direction: direction as Direction,
    action: action as 'Allow' | 'Block',
    enabled: one('Enabled', 'True').toLowerCase() === 'true',
    protocol: protocolName(one('Protocol', 'Any')),
    remoteAddress: list('RemoteAddress'),
    localAddress: list('LocalAddress'),
    remotePort: list('RemotePort'),
    localPort: list('LocalPort'),
  };
}

function protocolName(value: string): string {
  const byNumber: Record<string, string> = { 1: 'ICMPV4', 6: 'TCP', 17: 'UDP', 58: 'ICMPV6' };
  const name = byNumber[value] ?? value.toUpperCase();
  if (!['ANY', 'UDP', 'TCP', 'ICMPV4', 'ICMPV6'].includes(name)) throw new Error(`Protocol ${value} is not modelled`);
  return name;
}

interface AddressRange {
  readonly family: 'ipv4' | 'ipv6';
  readonly from: bigint;
  readonly to: bigint;
}

function toNumber(address: ipaddr.IPv4 | ipaddr.IPv6): bigint {
  return address.toByteArray().reduce((acc, b) => acc * 256n + BigInt(b), 0n);
}

function familyOf(address: ipaddr.IPv4 | ipaddr.IPv6): 'ipv4' | 'ipv6' {
  return address.kind() === 'ipv4' ? 'ipv4' : 'ipv6';
}

/** One RemoteAddress/LocalAddress entry: an address, `a/n`, `a/mask` or `a-b`. Keywords are refused. */
export function parseAddressEntry(entry: string): AddressRange {
  if (entry.includes('-')) {
    const [a, b] = entry.split('-').map((x) => ipaddr.parse(x));
    if (a.kind() !== b.kind()) throw new Error(`range ${entry} mixes families`);
    const range = { family: familyOf(a), from: toNumber(a), to: toNumber(b) };
    if (range.from > range.to) throw new Error(`range ${entry} is inverted`);
    return range;
  }
  if (entry.includes('/')) {
    const [a, p] = entry.split('/');
    const address = ipaddr.parse(a);
    const bits = address.kind() === 'ipv4' ? 32 : 128;
    const prefix = p.includes('.') ? ipaddr.IPv4.parse(p).prefixLengthFromSubnetMask() : Number(p);
    if (prefix === null || !(prefix >= 0 && prefix <= bits)) throw new Error(`bad prefix in ${entry}`);
    const size = 2n ** BigInt(bits - prefix);
    const from = (toNumber(address) / size) * size;
    return { family: familyOf(address), from, to: from + size - 1n };
  }
  if (!ipaddr.isValid(entry)) throw new Error(`address entry ${entry} is not modelled (keywords are not)`);
  const address = ipaddr.parse(entry);
  return { family: familyOf(address), from: toNumber(address), to: toNumber(address) };
}

interface Matcher {
  readonly remote?: AddressRange[];
  readonly local?: AddressRange[];
  readonly remotePort?: [number, number][];
  readonly localPort?: [number, number][];
}

const matchers = new WeakMap<ParsedRule, Matcher>();

/** The rule's lists, parsed once. */
function matcherOf(rule: ParsedRule): Matcher {
  let m = matchers.get(rule);
  if (!m) {
    const ports = (list: string[] | undefined) => list?.map((entry): [number, number] => {
      const match = /^(\d+)(?:-(\d+))?$/.exec(entry);
      if (!match) throw new Error(`port entry ${entry} is not modelled`);
      return [Number(match[1]), Number(match[2] ?? match[1])];
    });
    m = {
      remote: rule.remoteAddress?.map(parseAddressEntry),
      local: rule.localAddress?.map(parseAddressEntry),
      remotePort: ports(rule.remotePort),
      localPort: ports(rule.localPort),
    };
    matchers.set(rule, m);
  }
  return m;
}

const points = new Map<string, { family: 'ipv4' | 'ipv6'; value: bigint }>();

function addressMatches(list: AddressRange[] | undefined, address: string | undefined, what: string): boolean {
  if (list === undefined) return true;
  if (address === undefined) throw new Error(`a rule lists ${what} addresses: give the flow one`);
  let point = points.get(address);
  if (!point) {
    const parsed = ipaddr.parse(address);
    point = { family: familyOf(parsed), value: toNumber(parsed) };
    points.set(address, point);
  }
  const { family, value } = point;
  return list.some((r) => r.family === family && r.from <= value && value <= r.to);
}

function portMatches(list: [number, number][] | undefined, port: number): boolean {
  return list === undefined || list.some(([from, to]) => from <= port && port <= to);
}

/** Whether a rule matches a flow, Windows style: every condition must hold. */
export function ruleMatches(rule: ParsedRule, flow: Flow): boolean {
  if (!rule.enabled || rule.direction !== flow.direction || (rule.protocol !== 'ANY' && rule.protocol !== flow.protocol)) return false;
  const m = matcherOf(rule);
  return addressMatches(m.remote, flow.remoteAddress, 'remote') && addressMatches(m.local, flow.localAddress, 'local')
    && portMatches(m.remotePort, flow.remotePort) && portMatches(m.localPort, flow.localPort);
}

/** Decides a flow against a rule set: Block beats Allow beats the default; replies of allowed flows pass. */
export function decide(rules: readonly ParsedRule[], flow: Flow): Verdict {
  if (flow.replyTo && decide(rules, flow.replyTo).allowed) return { allowed: true, by: 'reply' };
  const block = rules.find((r) => r.action === 'Block' && ruleMatches(r, flow));
  if (block) return { allowed: false, by: block.name };
  const allow = rules.find((r) => r.action === 'Allow' && ruleMatches(r, flow));
  if (allow) return { allowed: true, by: allow.name };
  return { allowed: flow.direction === 'Outbound', by: 'default' };
}
