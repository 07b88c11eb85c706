import { CompiledRule } from './compiled-policy';

/**
 * The order Linux chains evaluate allow rules in: cheapest match first.
 *
 * Allows commute: every deny is rendered before every allow, and all allows have the same verdict,
 * so their order changes only which allow a packet is counted for (and explained by), never whether
 * it passes. A packet the policy governs walks the allows until one matches, so an allow of single
 * addresses and ports (native compares, a few ns each) must not wait behind a long list's set
 * lookup (~300 ns per packet through ipset's compat path or nft's interval search, bench/NOTRACK.md).
 *
 * Order: rules without lists, then rules with a port list, then rules with an address list; within
 * each, shorter lists first; ties keep declaration order.
 */
export function cheapestAllowsFirst(allows: readonly CompiledRule[]): CompiledRule[] {
  return allows
    .map((rule, index) => ({ rule, index, tier: tier(rule), entries: listEntries(rule) }))
    .sort((a, b) => a.tier - b.tier || a.entries - b.entries || a.index - b.index)
    .map(({ rule }) => rule);
}

/** 0: single values only; 1: a port list; 2: an address list (a set lookup, or a line per address). */
function tier(rule: CompiledRule): number {
  if (isList(rule.sources) || isList(rule.destinations)) return 2;
  if (isList(rule.sourcePorts) || isList(rule.destinationPorts)) return 1;
  return 0;
}

function listEntries(rule: CompiledRule): number {
  const lists = [rule.sources, rule.destinations, rule.sourcePorts, rule.destinationPorts];
  return lists.reduce((sum, list) => sum + (isList(list) ? list!.length : 0), 0);
}

function isList(list: readonly unknown[] | undefined): boolean {
  return list !== undefined && list.length > 1;
}
