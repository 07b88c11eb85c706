import { Cidr, Family, hostOrCidr } from '../policy/cidr';
import { PortRange } from '../policy/port-range';

/** Which field of a packet a named set is matched against. */
export type NftSetField = 'saddr' | 'daddr' | 'sport' | 'dport';

/** A named nftables set with `flags interval`: one lookup per packet, however long the list. */
export interface NftSet {
  /** `<field><4|6>-<rule id>` for addresses, `<field>-<rule id>` for ports: names start with a letter, as nft needs. */
  readonly name: string;
  readonly type: 'ipv4_addr' | 'ipv6_addr' | 'inet_service';
  readonly ruleId: string;
  readonly members: string[];
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
      `${indent}  flags interval`,
      `${indent}  elements = {`,
      ...set.members.map((m, i) => `${indent}    ${m}${i < set.members.length - 1 ? ',' : ''}`),
      `${indent}  }`,
      `${indent}}`,
    ]);
  }

  private add(name: string, type: NftSet['type'], ruleId: string, members: string[]): string {
    const existing = this.byName.get(name);
    // same rule, same field, same family: the same list (compiled copies differ only in scope)
    if (existing && existing.members.join(',') !== members.join(',')) {
      throw new Error(`internal: nft set ${name} defined twice with different members`);
    }
    if (!existing) this.byName.set(name, { name, type, ruleId, members });
    return `@${name}`;
  }
}
