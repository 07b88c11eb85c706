/**
 * What one NodeFirewall owns on a node, by name: its iptables chains, ipsets, nft table, Windows
 * rule group and state files. Each firewall owns its own, so two firewalls that reach one node
 * never touch each other's rules. The default name keeps the identifiers of the releases before
 * several firewalls existed, so an upgrade replaces its own objects and leaves none behind.
 *
 * Other names map one to one (the name is lowercase letters, digits and dashes; its upper case, or
 * itself between fixed delimiters that no name holds, is as unique as the name), so two firewalls
 * of different names never share an identifier.
 */
export interface HostNames {
  /** The firewall's name (a Kubernetes object name). */
  readonly name: string;
  /** The iptables chains, one per built-in chain: `HOSTNET-INPUT`, or `HOSTNET-<NAME>-INPUT`. */
  readonly chains: { readonly input: string; readonly output: string; readonly forward: string };
  /** Comment on the jumps to our chains: `cdk8s-hostnet`, or `cdk8s-hostnet-<name>`. */
  readonly jumpTag: string;
  /** Start of every ipset name: `hostnet-`, or `hn.<name>.` (no name holds a dot: no prefix of another's). */
  readonly setPrefix: string;
  /** The nft table, family inet: `hostnet`, or `hostnet-<name>`. */
  readonly nftTable: string;
  /** The Windows Firewall rule group: `cdk8s-hostnet`, or `cdk8s-hostnet-<name>`. Never `k2s`. */
  readonly windowsGroup: string;
  /**
   * Start of each Windows rule's -Name (unique per store): `cdk8s-hostnet-`, or `cdk8s-hostnet-<name>.`
   * (no default rule name holds a dot, and no firewall name does).
   */
  readonly windowsRulePrefix: string;
  /** Last good policy on a Linux node, in /run/hostnet: `good-apply.sh`, or `good-apply-<name>.sh`. */
  readonly linuxGood: string;
  /** Last good policy on a Windows node, in ProgramData\cdk8s-hostnet: `good-apply.ps1`, or `good-apply-<name>.ps1`. */
  readonly windowsGood: string;
  /** The Windows agent's directory of per-pod directories (each agent prunes stale ones in its own): `pods`, or `pods-<name>`. */
  readonly windowsPods: string;
  /** The metrics file: `hostnet.prom`, or `hostnet-<name>.prom`. */
  readonly metricsFile: string;
  /**
   * The label that tells this firewall's series from another's on one node: none for the default
   * name (its series stay as they were), else `firewall="<name>"`.
   */
  readonly metricsLabel: string;
}

/**
 * The group of the Windows agent's inbound Allow rule for its metrics port, outside the policy's
 * group so apply.ps1 never prunes it: `<windowsGroup>.metrics` (no firewall name holds a dot).
 */
export function windowsMetricsGroup(names: HostNames): string {
  return `${names.windowsGroup}.metrics`;
}

/** The default NodeFirewall name, whose identifiers are those of the releases before. */
export const DEFAULT_FIREWALL_NAME = 'hostnet';

/** iptables chain names hold at most 28 characters (XT_EXTENSION_MAXNAMELEN 29 with the NUL). */
const MAX_CHAIN = 28;
/** ipset names hold at most 31 characters (IPSET_MAXNAMELEN 32 with the NUL). */
const MAX_SET = 31;
/** What apply.sh appends to a set name for its scratch copy: `-` and a pid (pid_max 4194304: 7 digits). */
const SCRATCH_SUFFIX = 8;

/** Longest name other than the default: `HOSTNET-<NAME>-FORWARD` must fit an iptables chain name. */
export const MAX_FIREWALL_NAME = MAX_CHAIN - 'HOSTNET--FORWARD'.length;

/** Why `name` cannot name a firewall's host objects, or undefined when it can. */
export function hostNamesProblem(name: string): string | undefined {
  if (name === DEFAULT_FIREWALL_NAME || name.length <= MAX_FIREWALL_NAME) return undefined;
  return `is longer than ${MAX_FIREWALL_NAME} characters, so its iptables chain HOSTNET-${name.toUpperCase()}-FORWARD would pass the kernel's 28; use a shorter name`;
}

/** The host identifiers of the firewall called `name` (the construct checks it: an object name, hostNamesProblem). */
export function hostNames(name: string): HostNames {
  if (name === DEFAULT_FIREWALL_NAME) {
    return {
      name,
      chains: { input: 'HOSTNET-INPUT', output: 'HOSTNET-OUTPUT', forward: 'HOSTNET-FORWARD' },
      jumpTag: 'cdk8s-hostnet',
      setPrefix: 'hostnet-',
      nftTable: 'hostnet',
      windowsGroup: 'cdk8s-hostnet',
      windowsRulePrefix: 'cdk8s-hostnet-',
      linuxGood: 'good-apply.sh',
      windowsGood: 'good-apply.ps1',
      windowsPods: 'pods',
      metricsFile: 'hostnet.prom',
      metricsLabel: '',
    };
  }
  const upper = name.toUpperCase();
  const setPrefix = `hn.${name}.`;
  return {
    name,
    chains: { input: `HOSTNET-${upper}-INPUT`, output: `HOSTNET-${upper}-OUTPUT`, forward: `HOSTNET-${upper}-FORWARD` },
    jumpTag: `cdk8s-hostnet-${name}`,
    setPrefix,
    nftTable: `hostnet-${name}`,
    windowsGroup: `cdk8s-hostnet-${name}`,
    windowsRulePrefix: `cdk8s-hostnet-${name}.`,
    linuxGood: `good-apply-${name}.sh`,
    windowsGood: `good-apply-${name}.ps1`,
    windowsPods: `pods-${name}`,
    metricsFile: `hostnet-${name}.prom`,
    metricsLabel: `firewall="${name}"`,
  };
}

/**
 * The ipset name of a list: the prefix, its kind (`4`, `6` addresses, `p` ports) and its content's
 * digest. The default name keeps `hostnet-<kind>-<10 hex>`; other names drop the dash and shorten
 * the digest to what 31 characters leave after the scratch suffix (at least 6 hex digits for the
 * longest name; a clash inside one policy is refused by the set registry).
 */
export function ipsetName(names: HostNames, kind: '4' | '6' | 'p', digestHex: string): string {
  if (names.name === DEFAULT_FIREWALL_NAME) return `${names.setPrefix}${kind}-${digestHex.slice(0, 10)}`;
  const digits = Math.min(10, MAX_SET - SCRATCH_SUFFIX - names.setPrefix.length - kind.length);
  return `${names.setPrefix}${kind}${digestHex.slice(0, digits)}`;
}

/** Every identifier of `names` that another firewall must not use (for the one-app check). */
export function hostIdentifiers(names: HostNames): string[] {
  return [...Object.values(names.chains), names.jumpTag, names.setPrefix, `inet ${names.nftTable}`, names.windowsGroup, names.windowsRulePrefix, names.linuxGood, names.windowsGood, names.windowsPods, names.metricsFile];
}
