import { createHash } from 'crypto';
import { Cidr, Family } from '../policy/cidr';
import { PortRange } from '../policy/port-range';

/** An address or port set the Linux dialects reference instead of one rule per entry. */
export interface LinuxSet {
  /** Content-derived name: same members, same name, so a re-apply reuses it. */
  readonly name: string;
  readonly kind: 'addresses' | 'ports';
  readonly family: Family;
  readonly members: string[];
}

/** Prefix of every set this library owns, so cleanup never touches anyone else's. */
export const SET_PREFIX = 'hostnet-';

/** Collects sets by content, so identical lists share one set. */
export class LinuxSetRegistry {
  private readonly byName = new Map<string, LinuxSet>();

  public addresses(family: Family, cidrs: Cidr[]): LinuxSet {
    return this.add('addresses', family, cidrs.map((c) => c.text));
  }

  public ports(family: Family, ranges: PortRange[]): LinuxSet {
    return this.add('ports', family, ranges.map((r) => r.toString()));
  }

  public all(): LinuxSet[] {
    return [...this.byName.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  private add(kind: LinuxSet['kind'], family: Family, members: string[]): LinuxSet {
    const digest = createHash('sha256').update(`${kind}|${family}|${members.join(',')}`).digest('hex').slice(0, 10);
    const name = `${SET_PREFIX}${kind === 'ports' ? 'p' : family === 'ipv4' ? '4' : '6'}-${digest}`;
    const set = { name, kind, family, members };
    this.byName.set(name, set);
    return set;
  }
}

/** iptables multiport takes at most 15 ports, a range counting twice. */
export function fitsMultiport(ranges: PortRange[]): boolean {
  return ranges.reduce((n, r) => n + (r.from === r.to ? 1 : 2), 0) <= 15;
}
