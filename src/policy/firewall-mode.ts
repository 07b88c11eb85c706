/** What the node agents do with the policy. */
export enum FirewallMode {
  /** Drop what the policy denies. */
  ENFORCE = 'enforce',
  /**
   * Drop nothing: every rule that would drop counts (and logs, rate-limited, with the rule id) the
   * packets it would have dropped, so a policy can run for a week before it is enforced.
   */
  AUDIT = 'audit',
  /** Remove every rule of this firewall from the nodes, then idle and stay Ready. */
  REMOVE = 'remove',
}
