import { FirewallRuleProps, NamedRule, RuleOrigin } from './firewall-rule';
import { RuleAction } from './protocol';

/** Defaults of a firewall policy. */
export interface FirewallPolicyProps {
  /**
   * What happens to UDP that no rule allows.
   * @default RuleAction.DENY - Linkerd covers TCP with mTLS, UDP is what is left
   */
  readonly udp?: RuleAction;
  /**
   * What happens to TCP that no rule allows.
   * @default RuleAction.ALLOW
   */
  readonly tcp?: RuleAction;
}

/**
 * A declared host firewall policy: defaults per protocol plus rules. Pure data: it knows nothing
 * of cdk8s, iptables or Windows; `compilePolicy` checks it and the dialects render it.
 */
export class FirewallPolicy {
  /** The library's default: deny UDP except exemptions, leave TCP and everything else alone. */
  public static denyUdp(): FirewallPolicy {
    return new FirewallPolicy({ udp: RuleAction.DENY, tcp: RuleAction.ALLOW });
  }

  /** What happens to UDP that no rule allows. */
  public readonly udp: RuleAction;
  /** What happens to TCP that no rule allows. */
  public readonly tcp: RuleAction;
  private readonly declared: NamedRule[] = [];

  /** A policy with these defaults and no rules yet. */
  public constructor(props: FirewallPolicyProps = {}) {
    this.udp = props.udp ?? RuleAction.DENY;
    this.tcp = props.tcp ?? RuleAction.ALLOW;
  }

  /**
   * Adds a rule. The id is a stable name (lowercase letters, digits, dashes).
   * @returns this policy, for chaining
   */
  public addRule(id: string, props: FirewallRuleProps): FirewallPolicy {
    this.declared.push({ id, origin: RuleOrigin.USER, props });
    return this;
  }

  /** Rules in the order declared. */
  public get rules(): NamedRule[] {
    return [...this.declared];
  }

  /** A policy with the same defaults and rules; rules added to either later stay with that one. */
  public copy(): FirewallPolicy {
    const twin = new FirewallPolicy({ udp: this.udp, tcp: this.tcp });
    twin.declared.push(...this.declared);
    return twin;
  }
}
