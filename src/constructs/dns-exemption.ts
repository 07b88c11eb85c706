import { Construct } from 'constructs';
import { DnsResolver, dnsRules } from '../policy/dns-resolver';
import { NamedRule } from '../policy/firewall-rule';

/** Props of a DnsExemption. */
export interface DnsExemptionProps {
  /**
   * Resolvers that nodes and pods may query (udp and tcp 53).
   * @default - none; add them with addResolver()
   */
  readonly resolvers?: DnsResolver[];
}

/**
 * DNS that must keep working, for nodes and pods, to the resolvers a cluster declares.
 * DNS to any other address is blocked when the firewall denies UDP. Its rules are failsafes:
 * a deny rule that would cut them is refused at synth time.
 */
export class DnsExemption extends Construct {
  private readonly declared: DnsResolver[];

  public constructor(scope: Construct, id: string, props: DnsExemptionProps = {}) {
    super(scope, id);
    this.declared = [...(props.resolvers ?? [])];
  }

  /** Declares one more resolver. */
  public addResolver(resolver: DnsResolver): void {
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
