// The two pod templates of a compartment, as pure data from a checked plan: the anchor (a pause pod
// that owns the pod IP) and the launcher (a HostProcess pod that starts the executable inside it).
import { k8s } from 'cdk8s-plus-28';
import { ANCHOR_LABEL, LAUNCHER_LABEL } from './compartment-options';

const HOSTNAME = 'kubernetes.io/hostname';

/** One network compartment: one anchor and the launchers that use it. */
export interface Compartment {
  /** Value of ANCHOR_LABEL / LAUNCHER_LABEL: `<name>.<i>`, or `<name>` when shared (names have no dots). */
  readonly key: string;
  /** Suffix of construct ids: `-<i>`, or empty when shared. */
  readonly suffix: string;
  /** Name of the anchor Deployment and of its service account (the mesh identity): `<name>-anchor-<i>`. */
  readonly anchorName: string;
  /** Name of the launcher Deployment: `<name>-launcher-<i>`. */
  readonly launcherName: string;
  /** Host name of the anchor pod under the anchors' headless Service. */
  readonly hostname: string;
  /** Launcher pods (replicas) on this anchor. */
  readonly launchers: number;
  /** The launcher's command: cplauncher, its flags, `--`, the executable and its arguments. */
  readonly command: string[];
}

/** A checked probe, in whole seconds. */
export interface PlannedProbe {
  readonly port: number;
  readonly path?: string;
  readonly period: number;
  readonly timeout: number;
  readonly failureThreshold: number;
  readonly startup: number;
}

/** A declared port, checked, with its defaults filled in. */
export interface PlannedPort {
  readonly name: string;
  readonly port: number;
  /** `TCP` or `UDP`, as Kubernetes spells them. */
  readonly protocol: string;
  readonly servicePort: number;
}

/** A host folder mounted into the launcher at the same path. */
export interface HostVolume {
  readonly volume: k8s.Volume;
  readonly mount: k8s.VolumeMount;
}

/** Everything the pod templates need, checked. */
export interface PodPlan {
  readonly name: string;
  readonly namespace: string;
  readonly meshed: boolean;
  readonly labels: (component: string) => Record<string, string>;
  /** Labels every anchor of the workload has and no launcher has (the Service selector). */
  readonly anchorSelector: Record<string, string>;
  readonly ports: PlannedPort[];
  readonly probe?: PlannedProbe;
  /** The anchors' headless Service and domain, when launchers probe their anchor by DNS name. */
  readonly anchorDns?: { readonly service: string; readonly clusterDomain: string };
  readonly env: k8s.EnvVar[];
  readonly tolerations: k8s.Toleration[];
  readonly pauseImage: string;
  readonly hostProcessImage: string;
  readonly anchorResources: k8s.ResourceRequirements;
  readonly launcherResources: k8s.ResourceRequirements;
  readonly volumes: HostVolume[];
  /** Spread anchors over nodes (more than one compartment). */
  readonly spread: boolean;
}

const windowsPod = (plan: PodPlan) => ({
  os: { name: 'windows' },
  nodeSelector: { 'kubernetes.io/os': 'windows' },
  tolerations: plan.tolerations,
  // the executable inherits the launcher's environment: no Service variables in it
  enableServiceLinks: false,
});

/** A kubelet probe of the executable; `host` unset means the pod's own IP. */
function kubeletProbe(probe: PlannedProbe, failureThreshold: number, host?: string): k8s.Probe {
  const port = k8s.IntOrString.fromNumber(probe.port);
  const action = probe.path === undefined ? { tcpSocket: { host, port } } : { httpGet: { host, port, path: probe.path, scheme: 'HTTP' } };
  return { ...action, periodSeconds: probe.period, timeoutSeconds: probe.timeout, failureThreshold };
}

/** DNS name of a compartment's anchor, when launchers probe through it. */
export function anchorDnsName(plan: PodPlan, c: Compartment): string | undefined {
  return plan.anchorDns && `${c.hostname}.${plan.anchorDns.service}.${plan.namespace}.svc.${plan.anchorDns.clusterDomain}`;
}

/** The anchor: one pause pod that owns the compartment and the pod IP; the only pod ever meshed. */
export function anchorDeployment(plan: PodPlan, c: Compartment): k8s.DeploymentSpec {
  const probe = plan.probe;
  const containerPorts: k8s.ContainerPort[] = [
    ...plan.ports.map((p) => ({ name: p.name, containerPort: p.port, protocol: p.protocol })),
    ...(probe && !plan.ports.some((p) => p.port === probe.port && p.protocol === 'TCP')
      ? [{ name: 'probe', containerPort: probe.port, protocol: 'TCP' }] : []),
  ];
  // Meshed, the token is left to Linkerd's injector; unmeshed, the pause container needs none
  const automountToken = plan.meshed ? undefined : false;
  return {
    replicas: 1,
    // never two anchors with one label: cplauncher needs exactly one
    strategy: { type: 'Recreate' },
    selector: { matchLabels: { [ANCHOR_LABEL]: c.key } },
    template: {
      metadata: {
        labels: { ...plan.labels('compartment-anchor'), [ANCHOR_LABEL]: c.key },
        annotations: { 'linkerd.io/inject': plan.meshed ? 'enabled' : 'disabled' },
      },
      spec: {
        ...windowsPod(plan),
        serviceAccountName: c.anchorName,
        automountServiceAccountToken: automountToken,
        hostname: plan.anchorDns && c.hostname,
        subdomain: plan.anchorDns?.service,
        affinity: {
          // a replaced anchor goes back to the node its launcher runs on, where the launcher finds it
          podAffinity: {
            preferredDuringSchedulingIgnoredDuringExecution: [{
              weight: 100,
              podAffinityTerm: { labelSelector: { matchLabels: { [LAUNCHER_LABEL]: c.key } }, topologyKey: HOSTNAME },
            }],
          },
        },
        topologySpreadConstraints: plan.spread
          ? [{ maxSkew: 1, topologyKey: HOSTNAME, whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: plan.anchorSelector } }]
          : undefined,
        containers: [{
          name: 'pause',
          image: plan.pauseImage,
          imagePullPolicy: 'IfNotPresent',
          ports: containerPorts.length > 0 ? containerPorts : undefined,
          // kubelet reaches the executable at the anchor's IP: the Service lists only instances that answer
          readinessProbe: probe && kubeletProbe(probe, probe.failureThreshold),
          resources: plan.anchorResources,
        }],
      },
    },
  };
}

/**
 * The launcher: HostProcess pods (NT AUTHORITY\SYSTEM, host network) running cplauncher, which finds the
 * anchor by its label, enters its compartment and runs the executable for as long as it lives.
 */
export function launcherDeployment(plan: PodPlan, c: Compartment): k8s.DeploymentSpec {
  const probe = plan.probe;
  const dnsName = anchorDnsName(plan, c);
  const viaAnchor = probe && dnsName !== undefined;
  return {
    replicas: c.launchers,
    // never two copies of the executable in one compartment, not even during a rollout
    strategy: { type: 'Recreate' },
    selector: { matchLabels: { [LAUNCHER_LABEL]: c.key } },
    template: {
      metadata: {
        labels: { ...plan.labels('compartment-launcher'), [LAUNCHER_LABEL]: c.key },
        // a namespace-wide inject must never reach a HostProcess pod
        annotations: { 'linkerd.io/inject': 'disabled' },
      },
      spec: {
        ...windowsPod(plan),
        hostNetwork: true,
        securityContext: { windowsOptions: { hostProcess: true, runAsUserName: 'NT AUTHORITY\\SYSTEM' } },
        // cplauncher uses SYSTEM's kubeconfig, not a service account token
        automountServiceAccountToken: false,
        affinity: {
          // cplauncher can only enter a compartment of its own host
          podAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { [ANCHOR_LABEL]: c.key } }, topologyKey: HOSTNAME }],
          },
        },
        containers: [{
          name: 'launcher',
          image: plan.hostProcessImage,
          imagePullPolicy: 'IfNotPresent',
          command: c.command,
          env: plan.env.length > 0 ? plan.env : undefined,
          resources: plan.launcherResources,
          // the executable, reached at its anchor's current address: an executable left behind in the
          // compartment of a replaced anchor stops answering there, and kubelet restarts the launcher
          startupProbe: viaAnchor ? kubeletProbe(probe, Math.ceil(probe.startup / probe.period), dnsName) : undefined,
          livenessProbe: viaAnchor ? kubeletProbe(probe, probe.failureThreshold, dnsName) : undefined,
          volumeMounts: plan.volumes.map((v) => v.mount),
        }],
        volumes: plan.volumes.map((v) => v.volume),
      },
    },
  };
}
