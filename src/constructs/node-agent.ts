import { ApiObject, Lazy } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { firewallLabels } from './labels';
import { POLICY_HASH_ANNOTATION, policyHash } from './policy-hash';
import { POLICY_KEY } from '../explain/policies-from-manifests';
import { NodeOs } from '../policy/node-os';

/** What differs between the Linux and the Windows agent; everything else is shared. */
export interface NodeAgentProps {
  readonly name: string;
  readonly namespace: string;
  readonly os: NodeOs;
  /** The ConfigMap's files, produced at synth time, after every rule was added. */
  readonly files: () => Record<string, string>;
  readonly tolerations: k8s.Toleration[];
  readonly securityContext: k8s.PodSecurityContext;
  /** The agent's container; it mounts the `scripts` volume. */
  readonly container: k8s.Container;
  /** @default - none */
  readonly sidecars?: k8s.Container[];
  /** @default - only the scripts volume */
  readonly extraVolumes?: k8s.Volume[];
  /** @default - the ConfigMap volume's default mode */
  readonly scriptsMode?: number;
  /** @default - none */
  readonly initContainers?: k8s.Container[];
  /** Labels the nodes must carry besides the OS label (a node pool). @default - every node of the OS */
  readonly nodeSelector?: Record<string, string>;
  /** Nodes whose pod may be replaced at once during a rollout. */
  readonly maxUnavailable: number;
  /** Seconds a new pod must be Ready before the rollout moves on. */
  readonly minReadySeconds: number;
}

/**
 * A ConfigMap holding the rendered scripts and a DaemonSet that runs them on every node of one OS:
 * host network, node-critical, no API token, and a pod template that changes with the scripts,
 * so a changed policy rolls the DaemonSet.
 */
export class NodeAgent extends Construct {
  public readonly configMap: ApiObject;
  public readonly daemonSet: ApiObject;

  public constructor(scope: Construct, id: string, props: NodeAgentProps) {
    super(scope, id);
    const labels = firewallLabels(props.name, props.os);
    const objectName = `${props.name}-${props.os}`;
    let produced: { scripts: Record<string, string>; policy?: string } | undefined;
    // policy.json goes to a ConfigMap of its own: the agent never reads it, so it neither spends the
    // scripts' 1 MiB nor rolls the pods, and `cdk8s-hostnet explain` finds it by its key
    const produce = () => (produced ??= splitPolicy(props.files()));
    const produceFiles = () => produce().scripts;

    this.configMap = new k8s.KubeConfigMap(this, 'Scripts', {
      metadata: { name: `${objectName}-scripts`, namespace: props.namespace, labels },
      data: Lazy.any({ produce: produceFiles }),
    });
    const policy = new k8s.KubeConfigMap(this, 'Policy', {
      metadata: { name: `${objectName}-policy`, namespace: props.namespace, labels },
      data: Lazy.any({ produce: () => (produce().policy === undefined ? undefined : { [POLICY_FILE]: produce().policy }) }),
    });

    this.daemonSet = new k8s.KubeDaemonSet(this, 'Resource', {
      metadata: { name: objectName, namespace: props.namespace, labels },
      spec: {
        selector: {
          matchLabels: {
            'app.kubernetes.io/name': labels['app.kubernetes.io/name'],
            'app.kubernetes.io/instance': props.name,
            'app.kubernetes.io/component': props.os,
          },
        },
        // the pace at which a changed policy reaches the nodes: a pod that is not Ready stops it
        updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: k8s.IntOrString.fromNumber(props.maxUnavailable) } },
        minReadySeconds: props.minReadySeconds,
        template: {
          metadata: { labels, annotations: { [POLICY_HASH_ANNOTATION]: Lazy.any({ produce: () => policyHash(produceFiles()) }) } },
          spec: {
            os: props.os === NodeOs.WINDOWS ? { name: 'windows' } : undefined,
            nodeSelector: { ...props.nodeSelector, 'kubernetes.io/os': props.os },
            tolerations: props.tolerations,
            hostNetwork: true,
            priorityClassName: 'system-node-critical',
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            // room for an apply in progress to finish: a SIGKILL mid-apply leaves the lock to its lease
            terminationGracePeriodSeconds: 30,
            securityContext: props.securityContext,
            initContainers: props.initContainers,
            containers: [props.container, ...(props.sidecars ?? [])],
            volumes: [
              { name: 'scripts', configMap: { name: `${objectName}-scripts`, defaultMode: props.scriptsMode } },
              ...(props.extraVolumes ?? []),
            ],
          },
        },
      },
    });
    this.daemonSet.addDependency(this.configMap);
    // at app.synth(), after every rule was added, as one line naming this path
    this.node.addValidation({ validate: () => configMapSizeProblems(`${objectName}-scripts`, props.os, produceFiles()) });
    this.node.addValidation({ validate: () => configMapSizeProblems(`${objectName}-policy`, props.os, { [POLICY_FILE]: produce().policy ?? '' }) });
    policy.addDependency(this.configMap);
  }
}

/** The compiled policy as data, for `cdk8s-hostnet explain/diff/test`. */
const POLICY_FILE = POLICY_KEY;

function splitPolicy(files: Record<string, string>): { scripts: Record<string, string>; policy?: string } {
  const { [POLICY_FILE]: policy, ...scripts } = files;
  return { scripts, policy };
}

/** Kubernetes refuses a ConfigMap whose keys and values exceed 1 MiB together (MaxSecretSize, shared by ConfigMaps). */
export const CONFIG_MAP_MAX_BYTES = 1024 * 1024;

function configMapSizeProblems(name: string, os: NodeOs, files: Record<string, string>): string[] {
  const bytes = Object.entries(files).reduce((sum, [key, value]) => sum + Buffer.byteLength(key) + Buffer.byteLength(value), 0);
  if (bytes <= CONFIG_MAP_MAX_BYTES) return [];
  const kib = (n: number) => `${Math.ceil(n / 1024).toLocaleString('en-US')} KiB`;
  return [`ConfigMap ${name} would hold ${kib(bytes)}, over the ${kib(CONFIG_MAP_MAX_BYTES)} Kubernetes allows one object; `
    + `list fewer, wider CIDRs${os === NodeOs.LINUX ? ', use the nftables backend (about half the bytes per address)' : ''}, or split the nodes across firewalls`];
}
