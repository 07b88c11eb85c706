import { Cidr, Family, formatAddress, hostOrCidr, maxAddress } from '../policy/cidr';
import { PortRange } from '../policy/port-range';

/** Which field of a packet a named set is matched against. */
export type NftSetField = 'saddr' | 'daddr' | 'sport' | 'dport';

/**
 * Lists at least this long whose CIDRs have at most HASHED_PREFIX_LENGTHS distinct prefix lengths
 * become one hash set per length, matched as `ip daddr & <mask> @set`: a hash lookup costs the same
 * at 100,000 entries as at 10, where an interval set's binary search took ~280 ns per packet at
 * 1,000 (perf, BENCHMARKS.md) and grows with the list.
 */
export const HASHED_LIST_MIN = 32;
export const HASHED_PREFIX_LENGTHS = 4;

/** A named nftables set: `flags interval` for ranges, or a hash of network addresses of one prefix length. */
export interface NftSet {
  /** `<field><4|6>-<rule id>` for addresses, `<field>-<rule id>` for ports: names start with a letter, as nft needs. */
  readonly name: string;
  readonly type: 'ipv4_addr' | 'ipv6_addr' | 'inet_service';
  readonly ruleId: string;
  readonly members: string[];
  /** Members are network addresses of one prefix length (a hash set), not ranges. */
  readonly hashed?: boolean;
}

/**
 * Collects the named sets of one table, named after the rule that uses them so an operator can
 * read `ip daddr @daddr4-dns-upstream`. A rule compiled for several scopes shares its sets.
 */
export class NftSetRegistry {
  private readonly byName = new Map<string, NftSet>();

  /** `@name` of the set of these addresses. */
  public addresses(ruleId: string, field: 'saddr' | 'daddr', family: Family, cidrs: Cidr[]): string {
    const suffix = family === 'ipv4' ? '4' : '6';
    return this.add(`${field}${suffix}-${ruleId}`, family === 'ipv4' ? 'ipv4_addr' : 'ipv6_addr', ruleId, cidrs.map(hostOrCidr));
  }

  /**
   * How a rule matches these addresses: `@name` of one interval set, or for a long list of few
   * prefix lengths one `& <mask> @name` per length (a rule line each: the lines together match the list).
   */
  public addressMatches(ruleId: string, field: 'saddr' | 'daddr', family: Family, cidrs: Cidr[]): string[] {
    const byPrefix = new Map<number, Cidr[]>();
    for (const cidr of cidrs) {
      const group = byPrefix.get(cidr.prefix);
      if (group) group.push(cidr);
      else byPrefix.set(cidr.prefix, [cidr]);
    }
    if (cidrs.length < HASHED_LIST_MIN || byPrefix.size > HASHED_PREFIX_LENGTHS) return [this.addresses(ruleId, field, family, cidrs)];
    const suffix = family === 'ipv4' ? '4' : '6';
    const bits = family === 'ipv4' ? 32 : 128;
    return [...byPrefix.entries()].sort(([a], [b]) => b - a).map(([prefix, group]) => {
      const set = this.add(`${field}${suffix}-${ruleId}-${prefix}`, family === 'ipv4' ? 'ipv4_addr' : 'ipv6_addr', ruleId,
        group.map((c) => formatAddress(family, c.first)), true);
      if (prefix === bits) return set;
      // the prefix's network mask: all ones, less the host bits
      const mask = maxAddress(family) - ((2n ** BigInt(bits - prefix)) - 1n);
      return `& ${formatAddress(family, mask)} ${set}`;
    });
  }

  /** `@name` of the set of these ports (nft port sets serve both address families). */
  public ports(ruleId: string, field: 'sport' | 'dport', ranges: PortRange[]): string {
    return this.add(`${field}-${ruleId}`, 'inet_service', ruleId, ranges.map((r) => r.toString()));
  }

  /** One block of lines per set definition, in the order the rules first used them. */
  public render(indent: string): string[][] {
    return [...this.byName.values()].map((set) => [
      `${indent}# ${set.name}: ${set.members.length} entries of rule ${set.ruleId}`,
      `${indent}set ${set.name} {`,
      `${indent}  type ${set.type}`,
      ...(set.hashed ? [] : [`${indent}  flags interval`]),
      `${indent}  elements = {`,
      ...set.members.map((m, i) => `${indent}    ${m}${i < set.members.length - 1 ? ',' : ''}`),
      `${indent}  }`,
      `${indent}}`,
    ]);
  }

  private add(name: string, type: NftSet['type'], ruleId: string, members: string[], hashed = false): string {
    const existing = this.byName.get(name);
    // same rule, same field, same family: the same list (compiled copies differ only in scope)
    if (existing && existing.members.join(',') !== members.join(',')) {
      throw new Error(`internal: nft set ${name} defined twice with different members`);
    }
    if (!existing) this.byName.set(name, { name, type, ruleId, members, ...(hashed ? { hashed } : {}) });
    return `@${name}`;
  }
}
