import { Duration } from 'cdk8s';
import { Protocol } from '../policy/protocol';

/**
 * Pause image of the anchor pods: the one K2s publishes and its cplauncher example uses. Windows
 * containers run process-isolated only on a host of the same Windows build, and K2s hosts are often
 * Windows 10/11 client builds that the upstream pause image (Windows Server 2019/2022 variants only)
 * does not cover; K2s builds its pause image for them and ships it with its offline packages. On
 * Windows Server nodes of other distributions use `mcr.microsoft.com/oss/kubernetes/pause:3.9`.
 * @see https://github.com/Siemens-Healthineers/K2s/blob/main/k2s/cmd/cplauncher/cplauncher.example.yaml
 */
export const DEFAULT_PAUSE_IMAGE = 'shsk2s.azurecr.io/pause-win:v1.5.0';

/** The Kubernetes user K2s maps `NT AUTHORITY\SYSTEM` to (`k2s system users add -u "NT AUTHORITY\SYSTEM"`). */
export const K2S_SYSTEM_USER = 'k2s-NT-AUTHORITY-SYSTEM';

/** Label whose value is unique to one anchor: the launcher's `-label` selector and pod affinity use it. */
export const ANCHOR_LABEL = 'hostnet.cdk8s.io/compartment-anchor';

/** Label whose value names the compartment a launcher pod starts its executable in. */
export const LAUNCHER_LABEL = 'hostnet.cdk8s.io/compartment-launcher';

/** How the instances of a CompartmentWorkload share network compartments. */
export enum CompartmentIsolation {
  /** One anchor per instance: each instance has its own pod IP and, meshed, its own Linkerd identity. */
  PER_INSTANCE = 'perInstance',
  /**
   * One anchor for all instances: they share one pod IP and identity. Several instances in one
   * compartment cannot listen on the same ports, so with more than one they may declare neither
   * ports nor a probe.
   */
  SHARED = 'shared',
}

/** A port the executable listens on inside its compartment. */
export interface CompartmentPort {
  /** Port name (an IANA service name: 1-15 lowercase letters, digits, dashes) for the Service and the anchor. */
  readonly name: string;
  /** Port the executable listens on. */
  readonly port: number;
  /**
   * `Protocol.TCP` or `Protocol.UDP`.
   * @default Protocol.TCP
   */
  readonly protocol?: Protocol;
  /**
   * Port of the Service.
   * @default - the same as `port`
   */
  readonly servicePort?: number;
}

/** How kubelet checks the executable: a TCP connect, or an HTTP GET when `path` is given. */
export interface CompartmentProbe {
  /** TCP port the executable answers health checks on. */
  readonly port: number;
  /**
   * HTTP path for an HTTP GET check (2xx and 3xx are healthy).
   * @default - a TCP connect check
   */
  readonly path?: string;
  /**
   * Time between checks.
   * @default Duration.seconds(10)
   */
  readonly period?: Duration;
  /**
   * Time one check may take.
   * @default Duration.seconds(3)
   */
  readonly timeout?: Duration;
  /**
   * Consecutive failures before an anchor leaves the Service or a launcher is restarted.
   * @default 3
   */
  readonly failureThreshold?: number;
  /**
   * How long the executable may take to answer after its launcher starts (the launcher's startup probe).
   * @default Duration.minutes(5)
   */
  readonly startupTimeout?: Duration;
  /**
   * Meshed only: the networks kubelet's probes come from (a Linkerd NetworkAuthentication), since kubelet
   * has no mesh identity. Required when the probe port is also a declared port: whatever comes from these
   * networks reaches that port without mTLS.
   * @default - every network (0.0.0.0/0 and ::/0) for a probe port of its own
   */
  readonly kubeletNetworks?: string[];
}

/** Where cplauncher is and how it runs. */
export interface CompartmentLauncher {
  /**
   * K2s install folder on the Windows hosts; the launcher is `<installDir>\bin\cni\cplauncher.exe`.
   * @default 'C:\\k' - the folder K2s's documentation uses
   */
  readonly installDir?: string;
  /**
   * Full path of cplauncher.exe, when it is not under `installDir`.
   * @default - `<installDir>\bin\cni\cplauncher.exe`
   */
  readonly path?: string;
  /**
   * cplauncher's log root (it writes to `<SystemDrive>\var\log\cplauncher`); mounted, created if missing.
   * @default 'C:\\var\\log'
   */
  readonly logDir?: string;
  /**
   * Pass `-wait-tree`: the launcher waits for every process the executable starts, and a dying
   * launcher takes them with it (a Windows job object), so no orphan lingers in a dead compartment.
   * @default true
   */
  readonly waitForProcessTree?: boolean;
  /**
   * More cplauncher flags, e.g. `['-self-env', '-no-inject']` for an executable that switches its own
   * threads into the compartment. Flags this construct sets are refused.
   * @default - none
   */
  readonly extraArgs?: string[];
}
