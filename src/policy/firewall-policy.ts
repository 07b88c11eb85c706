import { checkRule } from './compile-policy';
import { FirewallRuleProps, NamedRule, RuleOrigin } from './firewall-rule';
import { RuleAction } from './protocol';

/** What errors of a policy not (yet) given to a NodeFirewall start with. */
const POLICY_PATH = 'FirewallPolicy';

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
   * Adds a rule. The id is a stable name (lowercase letters, digits, dashes). The rule is checked
   * here, on its own (id, fields, CIDRs, ports, an id used twice in this policy): a bad one throws
   * `FirewallPolicy: rule '<id>': ...`. What needs the failsafes (a deny cutting DNS) is checked by
   * the NodeFirewall that enforces the policy.
   * @returns this policy, for chaining
   */
  public addRule(id: string, props: FirewallRuleProps): FirewallPolicy {
    return this._addRule(POLICY_PATH, id, props);
  }

  /** @internal adds a rule after checking it on its own; errors start with `path` */
  public _addRule(path: string, id: string, props: FirewallRuleProps): FirewallPolicy {
    const rule = { id, origin: RuleOrigin.USER, props };
    checkRule(path, rule, this.declared);
    this.declared.push(rule);
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
