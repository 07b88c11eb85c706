/** Operating systems of a cluster's nodes: each gets its own agent and its own rendering. */
export enum NodeOs {
  /** Linux nodes: iptables or nftables, a DaemonSet of the distroless-iptables image. */
  LINUX = 'linux',
  /** Windows nodes: Windows Firewall, a HostProcess DaemonSet. */
  WINDOWS = 'windows',
}
