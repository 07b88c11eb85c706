import { createHash } from 'crypto';
import { HostNames, ipsetName } from './host-names';
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

/**
 * Collects sets by content, so identical lists share one set. Names start with the firewall's set
 * prefix (`hostnet-` for the default name), so cleanup never touches another firewall's sets.
 */
export class LinuxSetRegistry {
  private readonly byName = new Map<string, LinuxSet>();

  public constructor(private readonly names: HostNames) {}

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
    const digest = createHash('sha256').update(`${kind}|${family}|${members.join(',')}`).digest('hex');
    const name = ipsetName(this.names, kind === 'ports' ? 'p' : family === 'ipv4' ? '4' : '6', digest);
    const existing = this.byName.get(name);
    // a short digest (long firewall names) could name two lists alike: refuse rather than merge them
    if (existing && existing.members.join(',') !== members.join(',')) {
      throw new Error(`NodeFirewall ${this.names.name}: two address or port lists have the same ipset name ${name}; rename the firewall or a list`);
    }
    const set = { name, kind, family, members };
    this.byName.set(name, set);
    return set;
  }
}

/** iptables multiport takes at most 15 ports, a range counting twice. */
export function fitsMultiport(ranges: PortRange[]): boolean {
  return ranges.reduce((n, r) => n + (r.from === r.to ? 1 : 2), 0) <= 15;
}
