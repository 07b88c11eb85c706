import { FirewallMode } from '../policy/firewall-mode';

/** A DNS server the agent asks before and after an apply. */
export interface DnsCheck {
  /** What it is, for messages: `cluster-dns`, `upstream`, ... */
  readonly label: string;
  /** A single IPv4 or IPv6 address. */
  readonly server: string;
}

/** What a node agent's loop (run.sh, run.ps1) needs to know; the rules are in the apply and remove scripts. */
export interface AgentOptions {
  readonly name: string;
  readonly mode: FirewallMode;
  /** sha256 of the rendered apply.sh and remove.sh: names the policy in logs and on the node. */
  readonly policyId: string;
  readonly reapplySeconds: number;
  readonly driftSeconds: number;
  /** Resolvers that must keep answering, the cluster DNS Service first. */
  readonly dnsChecks: DnsCheck[];
  /** The name asked; any answer (even NXDOMAIN) proves the path works. */
  readonly dnsName: string;
  /** `host:port` of the API server, or undefined for the kubernetes Service from the pod's environment. */
  readonly apiServer?: string;
  /** Names the enforcement in hostnet_policy_info: iptables, nftables, windows-firewall. */
  readonly backend: string;
  /** This library's version, for hostnet_policy_info. */
  readonly version: string;
  /** Seconds between two writes of the metrics file. */
  readonly metricsSeconds: number;
}
