import { Construct } from 'constructs';
import { parseCidr } from '../policy/cidr';
import { DnsResolver, dnsRules } from '../policy/dns-resolver';
import { NamedRule } from '../policy/firewall-rule';
import { anyAddressProblem } from '../profiles/validate-profile';

/** Props of a DnsExemption. */
export interface DnsExemptionProps {
  /**
   * Resolvers that nodes and pods may query (udp and tcp 53).
   * @default - none; add them with addResolver()
   */
  readonly resolvers?: DnsResolver[];
  /**
   * Accept resolver CIDRs of prefix length 0 (`0.0.0.0/0`, `::/0`), which open DNS to every
   * address. A NodeFirewall passes its own `allowAnyAddress`.
   * @default false - such a resolver is refused where it is declared
   */
  readonly allowAnyAddress?: boolean;
}

/**
 * DNS that must keep working, for nodes and pods, to the resolvers a cluster declares.
 * DNS to any other address is blocked when the firewall denies UDP. Its rules are failsafes:
 * a deny rule that would cut them is refused at synth time.
 */
export class DnsExemption extends Construct {
  private readonly declared: DnsResolver[] = [];
  private readonly allowAnyAddress: boolean;

  /** Declares the given resolvers, refusing a bad one with this construct's path. */
  public constructor(scope: Construct, id: string, props: DnsExemptionProps = {}) {
    super(scope, id);
    this.allowAnyAddress = props.allowAnyAddress ?? false;
    for (const resolver of props.resolvers ?? []) this.addResolver(resolver);
  }

  /**
   * Declares one more resolver. Refuses an address that is not an IP address or CIDR, and one
   * that matches every address unless `allowAnyAddress` is set.
   */
  public addResolver(resolver: DnsResolver): void {
    resolver.addresses.forEach((address, i) => {
      const fail = (problem: string) => new Error(`${this.node.path}: ${resolver.kind}Resolvers[${i}] ${JSON.stringify(address)} ${problem}`);
      const parsed = parseCidr(address);
      if (typeof parsed === 'string') throw fail(parsed);
      if (parsed.prefix === 0 && !this.allowAnyAddress) {
        throw fail(anyAddressProblem('upstreamResolvers'));
      }
    });
    this.declared.push(resolver);
  }

  /** The resolvers declared so far. */
  public get resolvers(): DnsResolver[] {
    return [...this.declared];
  }

  /** @internal the failsafe allow rules for the declared resolvers */
  public _rules(): NamedRule[] {
    return dnsRules(this.declared);
  }
}
