import { createHash } from 'crypto';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { NodeAgent } from './node-agent';
import { AgentOptions } from '../dialects/agent-options';
import { LinuxScripts } from '../dialects/iptables';
import { AGENT_PATHS, renderLinuxAgent } from '../dialects/linux-agent';
import { NodeOs } from '../policy/node-os';

/** Props of the Linux agent that enforces a rendered policy on every Linux node. */
export interface LinuxNodeAgentProps {
  readonly name: string;
  readonly namespace: string;
  readonly image: string;
  /** Image with a static busybox (nslookup, nc, timeout, mv), copied into the pod by an init container. */
  readonly checkImage: string;
  /** iptables mode the scripts use: auto, legacy or nft. */
  readonly iptablesMode: string;
  /**
   * The scripts drive iptables (legacy needs NET_RAW for its raw socket, and shares the host's
   * xtables lock with kube-proxy) rather than nft alone (netlink: NET_ADMIN is enough).
   */
  readonly usesIptables: boolean;
  /** Labels the nodes must carry besides the OS label. */
  readonly nodeSelector?: Record<string, string>;
  readonly maxUnavailable: number;
  readonly minReadySeconds: number;
  /** How hostnet.prom leaves the node: a node-exporter sidecar, or the user's exporter's textfile directory. */
  readonly metrics: MetricsExport;
  /** Run droplog.sh in a sidecar, so `kubectl logs -c drop-log` shows the packets the rules drop. */
  readonly dropLog: boolean;
  /** Produces the scripts and the loop's settings at synth time, after every rule was added. */
  readonly scripts: () => { scripts: LinuxScripts; agent: Omit<AgentOptions, 'policyId'>; policyJson: string };
}

/** Where the agent's hostnet.prom goes. */
export type MetricsExport =
  | { readonly kind: 'sidecar'; readonly image: string; readonly port: number }
  | { readonly kind: 'hostPath'; readonly directory: string };

/** node-exporter flags: only the textfile collector, on the given port (the pod uses the host network). */
export function nodeExporterArgs(port: number): string[] {
  return ['--collector.disable-defaults', '--collector.textfile', `--collector.textfile.directory=${AGENT_PATHS.metrics}`,
    `--web.listen-address=:${port}`];
}

/** The helper containers (busybox copy, node-exporter): nobody, no capability, nothing writable but their volume. */
const UNPRIVILEGED: k8s.SecurityContext = {
  privileged: false,
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  runAsUser: 65534,
  runAsNonRoot: true,
  capabilities: { drop: ['ALL'] },
};

/** Root, for added capabilities to be effective, holding those and no other; nothing writable but volumes. */
function rootWithOnly(capabilities: string[]): k8s.SecurityContext {
  return {
    privileged: false,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    runAsUser: 0,
    runAsNonRoot: false,
    capabilities: { drop: ['ALL'], add: capabilities },
  };
}

/** Readiness: the loop's verdict, with its reason as the probe's message when not Ready. */
export const READINESS = `pod="\${HOSTNET_POD_DIR:-${AGENT_PATHS.pod}}"
if [ -e "$pod/ready" ]; then exit 0; fi
cat "$pod/unready" 2>/dev/null || echo 'hostnet: the policy is not applied yet'
exit 1`;

/**
 * apply.sh / remove.sh / run.sh on every Linux node, least-privilege: NET_ADMIN (and NET_RAW for
 * iptables) instead of privileged, no hostPID, no API token, tolerating every taint. The host's
 * /run/hostnet holds the node lock and the last policy that passed the health checks there; an
 * init container copies a static busybox for those checks; readiness is the loop's verdict.
 */
export class LinuxNodeAgent extends NodeAgent {
  public constructor(scope: Construct, id: string, props: LinuxNodeAgentProps) {
    super(scope, id, {
      name: props.name,
      namespace: props.namespace,
      os: NodeOs.LINUX,
      files: () => {
        const { scripts, agent, policyJson } = props.scripts();
        const policyId = createHash('sha256').update(scripts.apply).update('\0').update(scripts.remove).digest('hex');
        return {
          'apply.sh': scripts.apply,
          'remove.sh': scripts.remove,
          'run.sh': renderLinuxAgent({ ...agent, policyId }),
          ...(props.dropLog ? { 'droplog.sh': scripts.dropLog } : {}),
          // the compiled policy as data, for `cdk8s-hostnet explain/diff/test` (the agent ignores it)
          'policy.json': policyJson,
        };
      },
      tolerations: [{ operator: 'Exists' }],
      securityContext: { seccompProfile: { type: 'RuntimeDefault' } },
      scriptsMode: 0o555,
      nodeSelector: props.nodeSelector,
      maxUnavailable: props.maxUnavailable,
      minReadySeconds: props.minReadySeconds,
      initContainers: [{
        name: 'tools',
        image: props.checkImage,
        imagePullPolicy: 'IfNotPresent',
        command: ['/bin/busybox', 'cp', '/bin/busybox', `${AGENT_PATHS.tools}/busybox`],
        resources: {
          requests: { cpu: k8s.Quantity.fromString('10m'), memory: k8s.Quantity.fromString('8Mi') },
          limits: { memory: k8s.Quantity.fromString('16Mi') },
        },
        securityContext: UNPRIVILEGED,
        volumeMounts: [{ name: 'tools', mountPath: AGENT_PATHS.tools }],
      }],
      container: {
        name: 'apply',
        image: props.image,
        imagePullPolicy: 'IfNotPresent',
        command: ['/bin/sh', `${AGENT_PATHS.scripts}/run.sh`],
        env: [{ name: 'HOSTNET_IPTABLES_MODE', value: props.iptablesMode }],
        resources: {
          requests: { cpu: k8s.Quantity.fromString('10m'), memory: k8s.Quantity.fromString('32Mi') },
          limits: { memory: k8s.Quantity.fromString('96Mi') },
        },
        readinessProbe: {
          exec: { command: ['/bin/sh', '-c', READINESS] },
          periodSeconds: 5,
          failureThreshold: 1,
        },
        securityContext: rootWithOnly(props.usesIptables ? ['NET_ADMIN', 'NET_RAW'] : ['NET_ADMIN']),
        volumeMounts: [
          { name: 'scripts', mountPath: AGENT_PATHS.scripts, readOnly: true },
          { name: 'pod', mountPath: AGENT_PATHS.pod },
          { name: 'tools', mountPath: AGENT_PATHS.tools, readOnly: true },
          { name: 'node', mountPath: AGENT_PATHS.node },
          { name: 'metrics', mountPath: AGENT_PATHS.metrics },
          // shared with kube-proxy, so legacy iptables writers never interleave
          ...(props.usesIptables ? [{ name: 'xtables-lock', mountPath: '/run/xtables.lock' }] : []),
        ],
      },
      sidecars: [...(props.dropLog ? [dropLogSidecar(props.image)] : []), ...(props.metrics.kind !== 'sidecar' ? [] : [{
        name: 'metrics',
        image: props.metrics.image,
        imagePullPolicy: 'IfNotPresent',
        args: nodeExporterArgs(props.metrics.port),
        ports: [{ name: 'metrics', containerPort: props.metrics.port, protocol: 'TCP' }],
        resources: {
          requests: { cpu: k8s.Quantity.fromString('5m'), memory: k8s.Quantity.fromString('16Mi') },
          limits: { memory: k8s.Quantity.fromString('48Mi') },
        },
        securityContext: UNPRIVILEGED,
        volumeMounts: [{ name: 'metrics', mountPath: AGENT_PATHS.metrics, readOnly: true }],
      }])],
      extraVolumes: [
        { name: 'pod', emptyDir: { medium: 'Memory', sizeLimit: k8s.Quantity.fromString('16Mi') } },
        { name: 'tools', emptyDir: { sizeLimit: k8s.Quantity.fromString('16Mi') } },
        // on tmpfs: the lock and the last good policy are gone at reboot, when the rules are too
        { name: 'node', hostPath: { path: AGENT_PATHS.node, type: 'DirectoryOrCreate' } },
        props.metrics.kind === 'sidecar'
          ? { name: 'metrics', emptyDir: { medium: 'Memory', sizeLimit: k8s.Quantity.fromString('16Mi') } }
          : { name: 'metrics', hostPath: { path: props.metrics.directory, type: 'DirectoryOrCreate' } },
        ...(props.usesIptables ? [{ name: 'xtables-lock', hostPath: { path: '/run/xtables.lock', type: 'FileOrCreate' } }] : []),
      ],
    });
  }
}

/**
 * droplog.sh reads the kernel log with busybox's dmesg: it needs CAP_SYSLOG (kernel.dmesg_restrict
 * is 1 on most distributions) and root for the capability to be effective, and nothing else.
 */
function dropLogSidecar(image: string): k8s.Container {
  return {
    name: 'drop-log',
    image,
    imagePullPolicy: 'IfNotPresent',
    command: ['/bin/sh', `${AGENT_PATHS.scripts}/droplog.sh`],
    env: [{ name: 'HOSTNET_BUSYBOX', value: `${AGENT_PATHS.tools}/busybox` }],
    resources: {
      requests: { cpu: k8s.Quantity.fromString('5m'), memory: k8s.Quantity.fromString('8Mi') },
      limits: { memory: k8s.Quantity.fromString('32Mi') },
    },
    securityContext: rootWithOnly(['SYSLOG']),
    volumeMounts: [
      { name: 'scripts', mountPath: AGENT_PATHS.scripts, readOnly: true },
      { name: 'tools', mountPath: AGENT_PATHS.tools, readOnly: true },
    ],
  };
}
