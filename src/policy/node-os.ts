/** Operating systems of a cluster's nodes: each gets its own agent and its own rendering. */
export enum NodeOs {
  LINUX = 'linux',
  WINDOWS = 'windows',
}
