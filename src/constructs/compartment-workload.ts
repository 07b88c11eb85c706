import { ApiObject, Chart, Duration } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { CompartmentMeshPolicy } from './compartment-mesh';
import {
  ANCHOR_LABEL, CompartmentIsolation, CompartmentLauncher, CompartmentPort, CompartmentProbe, DEFAULT_PAUSE_IMAGE, K2S_SYSTEM_USER,
} from './compartment-options';
import { Compartment, HostVolume, PlannedPort, PlannedProbe, PodPlan, anchorDeployment, launcherDeployment } from './compartment-pods';
import {
  argumentProblem, envNameProblem, envValueProblem, isUncPath, portNameProblem,
  portProblem, userNameProblem, windowsDirname, windowsPathProblem, workloadNameProblem,
} from './compartment-validation';
import { imageProblem } from './image-reference';
import { DEFAULT_WINDOWS_IMAGE, NodeFirewall } from './node-firewall';
import { tolerationsFor } from './tolerations';
import { parseCidr } from '../policy/cidr';
import { FirewallRuleProps } from '../policy/firewall-rule';
import { namespaceProblem } from '../policy/k8s-names';
import { NodeOs } from '../policy/node-os';
import { PortRange } from '../policy/port-range';
import { Protocol, RuleAction, TrafficScope } from '../policy/protocol';
import { NodeTaint } from '../profiles/cluster-profile';
import { K2S_PROFILE } from '../profiles/k2s';

/** Props of a CompartmentWorkload. */
export interface CompartmentWorkloadProps {
  /** Absolute Windows path of the executable on the hosts, e.g. `C:\apps\albums\albums.exe`. */
  readonly executable: string;
  /**
   * Arguments of the executable, one element per argument.
   * @default - none
   */
  readonly args?: string[];
  /**
   * Environment of the executable (cplauncher passes its own environment on).
   * @default - none
   */
  readonly env?: { [name: string]: string };
  /**
   * Ports the executable listens on: the anchors declare them and the Service exposes them.
   * @default - none (an executable that only makes outbound connections)
   */
  readonly ports?: CompartmentPort[];
  /**
   * Number of instances of the executable.
   * @default 1
   */
  readonly instances?: number;
  /**
   * One compartment per instance, or one for all.
   * @default CompartmentIsolation.PER_INSTANCE
   */
  readonly isolation?: CompartmentIsolation;
  /**
   * Inject Linkerd into the anchors (`linkerd.io/inject: enabled`); never into the HostProcess pods.
   * @default false
   */
  readonly meshed?: boolean;
  /**
   * Health check of the executable: readiness of the anchors (the Service sends traffic only to
   * instances that answer) and, see `launcherLiveness`, startup and liveness of the launchers.
   * @default - none: an anchor is ready as soon as its pause container runs
   */
  readonly probe?: CompartmentProbe;
  /**
   * Probe each launcher's executable through its anchor's DNS name
   * (`anchor-<i>.<name>-anchors.<namespace>.svc.<clusterDomain>`): when an anchor is replaced, the
   * executable left in the old compartment stops answering there and kubelet restarts the launcher,
   * which finds the new anchor. Needs a probe, and Windows hosts that resolve cluster DNS names
   * (K2s's do).
   * @default - true when a probe is given
   */
  readonly launcherLiveness?: boolean;
  /**
   * Cluster DNS domain, for the anchors' DNS names.
   * @default 'cluster.local'
   */
  readonly clusterDomain?: string;
  /**
   * Create a Service, named after the workload, that selects the anchors for the declared ports.
   * @default - true when ports are declared
   */
  readonly service?: boolean;
  /**
   * Where cplauncher is and how it runs.
   * @default - K2s's layout under C:\k
   */
  readonly launcher?: CompartmentLauncher;
  /**
   * Kubernetes user of `NT AUTHORITY\SYSTEM`'s kubeconfig, with which cplauncher finds the anchor.
   * @default K2S_SYSTEM_USER
   */
  readonly launcherUser?: string;
  /**
   * Create the Role and RoleBinding that let `launcherUser` get and list pods in the namespace.
   * @default true
   */
  readonly createRbac?: boolean;
  /**
   * How long cplauncher waits for the anchor to exist, be unique and have an IP before it fails
   * (and kubelet starts it again).
   * @default Duration.seconds(60)
   */
  readonly labelTimeout?: Duration;
  /**
   * Base name of the objects: Service `<name>`, Deployments `<name>-anchor-<i>` and `<name>-launcher-<i>`.
   * @default - the construct id
   */
  readonly name?: string;
  /**
   * Namespace of the objects; cplauncher looks for the anchor there.
   * @default - the chart's namespace, else `default`
   */
  readonly namespace?: string;
  /**
   * Resources of the launcher container. The limits of a HostProcess container hold for every process
   * in it, so they bound the executable.
   * @default - requests 100m CPU and 128Mi memory, no limits
   */
  readonly resources?: k8s.ResourceRequirements;
  /**
   * Resources of the anchor's pause container.
   * @default - requests 10m CPU and 32Mi memory
   */
  readonly anchorResources?: k8s.ResourceRequirements;
  /**
   * Image of the anchors: a Windows pause image with a variant for the hosts' Windows build.
   * @default DEFAULT_PAUSE_IMAGE - K2s's pause image
   */
  readonly pauseImage?: string;
  /**
   * Image of the launchers. Its content is not used: cplauncher and the executable come from the host.
   * @default DEFAULT_WINDOWS_IMAGE
   */
  readonly hostProcessImage?: string;
  /**
   * Taints of the Windows nodes, which both pods tolerate.
   * @default - K2s's `OS=Windows:NoSchedule`
   */
  readonly windowsTaints?: NodeTaint[];
  /**
   * More host folders the executable needs (configuration, data), mounted at the same path, so that a
   * missing folder stops the pod with a clear event. The folders of the executable and the launcher
   * and the log folder are mounted already.
   * @default - none
   */
  readonly hostPaths?: string[];
}

/** An allow rule for a NodeFirewall, as `NodeFirewall.addRule(id, props)` takes it. */
export interface CompartmentFirewallRule {
  /** The rule id, `<name>-udp`. */
  readonly id: string;
  /** The rule. */
  readonly props: FirewallRuleProps;
}

/**
 * Unmodified native Windows executables in HostProcess pods inside network compartments (the K2s
 * pattern). Per compartment an anchor Deployment (one pause pod that owns the pod IP, meshed if asked)
 * and a launcher Deployment (HostProcess pods running `cplauncher -label <anchor> ... -- <exe> <args>`)
 * whose pods must run on the anchor's node; a Service over the anchors; the RBAC cplauncher needs; and,
 * meshed, the Linkerd policy that lets kubelet's probes through the anchors' proxies.
 *
 * Deployments, not bare pods: a bare pod is never recreated after its node is lost. Both use the
 * Recreate strategy: never a second anchor with the same label (cplauncher needs exactly one), never a
 * second copy of the executable in one compartment.
 * @see https://github.com/Siemens-Healthineers/K2s/blob/main/docs/op-manual/running-apps-as-hostprocess.md
 */
export class CompartmentWorkload extends Construct {
  /** Base name of the objects (the `name` prop, else the construct id). */
  public readonly name: string;
  /** Namespace of the objects. */
  public readonly namespace: string;
  /** Whether instances have a compartment each or share one. */
  public readonly isolation: CompartmentIsolation;
  /** Number of instances of the executable. */
  public readonly instances: number;
  /** Anchor Deployments, one per compartment. */
  public readonly anchors: ApiObject[];
  /** Launcher Deployments, one per compartment. */
  public readonly launchers: ApiObject[];
  /** The Service over the anchors, if there is one. */
  public readonly service?: ApiObject;
  /** Declared UDP ports, for host firewall exemptions. */
  public readonly udpPorts: number[];
  private readonly compartments: Compartment[];

  /** Checks the props, throwing with this construct's path, and declares every object of the workload. */
  public constructor(scope: Construct, id: string, props: CompartmentWorkloadProps) {
    super(scope, id);
    const plan = planWorkload(this.node.path, id, props, Chart.of(this).namespace);
    this.name = plan.name;
    this.namespace = plan.namespace;
    // the same name in the same namespace emits every object twice
    const twin = this.node.root.node.findAll()
      .find((c) => c !== this && c instanceof CompartmentWorkload && c.name === this.name && c.namespace === this.namespace);
    if (twin) {
      throw new Error(`${this.node.path}: name ${JSON.stringify(this.name)} in namespace ${JSON.stringify(this.namespace)} is already the name of the CompartmentWorkload at ${twin.node.path}; give each workload a name of its own`);
    }
    this.isolation = plan.isolation;
    this.instances = plan.instances;
    this.compartments = plan.compartments;
    this.udpPorts = plan.ports.filter((p) => p.protocol === 'UDP').map((p) => p.port);
    const metadata = (name: string, component: string) => ({ name, namespace: plan.namespace, labels: plan.labels(component) });

    // in the order kubectl apply should create them: identities, RBAC, mesh policy, Services, pods
    for (const c of plan.compartments) {
      // the anchor's service account is its mesh identity: one per compartment, named like its Deployment
      new k8s.KubeServiceAccount(this, `Identity${c.suffix}`, {
        metadata: metadata(c.anchorName, 'identity'),
        automountServiceAccountToken: plan.meshed ? undefined : false,
      });
    }
    if (plan.launcherUser) {
      // cplauncher lists pods by label, then reads the one it found (cplauncher.go, resolveCompartmentFromLabel)
      const role = new k8s.KubeRole(this, 'LauncherRole', {
        metadata: metadata(`${plan.name}-launcher`, 'rbac'),
        rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] }],
      });
      new k8s.KubeRoleBinding(this, 'LauncherRoleBinding', {
        metadata: metadata(`${plan.name}-launcher`, 'rbac'),
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role.name },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: plan.launcherUser }],
      });
    }
    if (plan.meshed && plan.probe) {
      new CompartmentMeshPolicy(this, 'Mesh', {
        name: plan.name,
        namespace: plan.namespace,
        labels: plan.labels('mesh-policy'),
        anchorSelector: plan.anchorSelector,
        port: plan.probe.port,
        kubeletNetworks: plan.kubeletNetworks,
        // a Server decides everything on its port: where the app shares it, meshed clients keep their access
        accessPolicy: plan.probeSharesPort ? 'all-authenticated' : 'deny',
      });
    }
    if (plan.service) {
      this.service = new k8s.KubeService(this, 'Service', {
        metadata: metadata(plan.name, 'service'),
        spec: {
          selector: plan.anchorSelector,
          ports: plan.ports.map((p) => ({ name: p.name, port: p.servicePort, targetPort: k8s.IntOrString.fromNumber(p.port), protocol: p.protocol })),
        },
      });
    }
    if (plan.anchorDns && plan.probe) {
      // headless: each anchor's DNS name, ready or not, for its launcher's probes
      new k8s.KubeService(this, 'AnchorDns', {
        metadata: metadata(plan.anchorDns.service, 'anchor-dns'),
        spec: {
          clusterIp: 'None',
          publishNotReadyAddresses: true,
          selector: plan.anchorSelector,
          ports: [{ name: 'probe', port: plan.probe.port, targetPort: k8s.IntOrString.fromNumber(plan.probe.port), protocol: 'TCP' }],
        },
      });
    }
    this.anchors = [];
    this.launchers = [];
    for (const c of plan.compartments) {
      this.anchors.push(new k8s.KubeDeployment(this, `Anchor${c.suffix}`, {
        metadata: metadata(c.anchorName, 'compartment-anchor'),
        spec: anchorDeployment(plan, c),
      }));
      this.launchers.push(new k8s.KubeDeployment(this, `Launcher${c.suffix}`, {
        metadata: metadata(c.launcherName, 'compartment-launcher'),
        spec: launcherDeployment(plan, c),
      }));
    }
  }

  /**
   * The labels that select the anchor of an instance: what its launcher passes to `cplauncher -label`.
   * @param index the instance, from 0; with isolation shared every instance has the same anchor
   */
  public anchorSelector(index: number): { [key: string]: string } {
    if (!Number.isInteger(index) || index < 0 || index >= this.instances) {
      throw new Error(`${this.node.path}: index ${JSON.stringify(index)} must be a whole number from 0 to ${this.instances - 1}`);
    }
    const c = this.compartments[this.isolation === CompartmentIsolation.SHARED ? 0 : index];
    return { [ANCHOR_LABEL]: c.key };
  }

  /**
   * An allow rule that opens the declared UDP ports on the nodes (nodeIngress) to the pod addresses the
   * executables hold; none when no UDP port is declared.
   * @param podCidrs the cluster's pod networks, where the anchors' addresses come from
   */
  public firewallRules(podCidrs?: string[]): CompartmentFirewallRule[] {
    if (this.udpPorts.length === 0) return [];
    return [{
      id: `${this.name}-udp`,
      props: {
        action: RuleAction.ALLOW,
        protocol: Protocol.UDP,
        scopes: [TrafficScope.NODE_INGRESS],
        // the executables run on Windows nodes only
        nodeOs: [NodeOs.WINDOWS],
        destinations: podCidrs && podCidrs.length > 0 ? [...podCidrs] : undefined,
        destinationPorts: [...this.udpPorts].sort((a, b) => a - b).map((p) => PortRange.of(p)),
        description: `UDP ports of the compartment workload ${this.namespace}/${this.name} (native Windows executables)`,
      },
    }];
  }

  /**
   * Adds `firewallRules()` to a NodeFirewall, limited to its profile's pod networks.
   * @returns the ids of the rules added: none without UDP ports
   */
  public addToFirewall(firewall: NodeFirewall): string[] {
    const rules = this.firewallRules(firewall.profile.podCidrs);
    for (const rule of rules) firewall.addRule(rule.id, rule.props);
    return rules.map((r) => r.id);
  }
}

// ---------------------------------------------------------------------------------------------
// Checking the props: everything that reaches an object name, a label or a command line

/** cplauncher sets this for the executable (cplauncher README, "Environment Variables Set"). */
const LAUNCHER_ENV = 'COMPARTMENT_ID_ATTACH';
/** cplauncher flags this construct sets, or that would stop cplauncher from running the executable. */
const MANAGED_FLAGS = ['-label', '-namespace', '-label-timeout', '-compartment', '-wait-tree', '-dry-run', '-version'];
const MAX_INSTANCES = 100;
/** Windows's limit on a command line (32767), less room for the quotes containerd adds. */
const MAX_COMMAND_LINE = 32000;
const DNS_DOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

interface WorkloadPlan extends PodPlan {
  readonly isolation: CompartmentIsolation;
  readonly instances: number;
  readonly compartments: Compartment[];
  readonly service: boolean;
  /** Who gets the RoleBinding; undefined when no RBAC is created. */
  readonly launcherUser?: string;
  readonly probeSharesPort: boolean;
  readonly kubeletNetworks: string[];
}

type Fail = (field: string, value: unknown, problem: string) => Error;

/** Checks the props (throwing `<path>: <field> <value> <problem>`) and fills in the defaults. */
function planWorkload(path: string, id: string, props: CompartmentWorkloadProps, chartNamespace: string | undefined): WorkloadPlan {
  const fail: Fail = (field, value, problem) => new Error(`${path}: ${field} ${JSON.stringify(value)} ${problem}`);
  const check = (field: string, value: unknown, problem: string | undefined) => {
    if (problem) throw fail(field, value, problem);
  };
  const name = props.name ?? id;
  check('name', name, workloadNameProblem(name) && `${workloadNameProblem(name)}; set props.name`);
  const namespace = props.namespace ?? chartNamespace ?? 'default';
  check('namespace', namespace, namespaceProblem(namespace));
  const instances = props.instances ?? 1;
  if (!Number.isInteger(instances) || instances < 1 || instances > MAX_INSTANCES) {
    throw fail('instances', instances, `must be a whole number from 1 to ${MAX_INSTANCES}`);
  }
  const isolation = props.isolation ?? CompartmentIsolation.PER_INSTANCE;
  const isolations = Object.values(CompartmentIsolation) as string[];
  check('isolation', isolation, isolations.includes(isolation) ? undefined : `must be one of ${isolations.join(', ')}`);
  const meshed = props.meshed ?? false;

  const ports = planPorts(props.ports ?? [], fail);
  const probe = props.probe && planProbe(props.probe, fail);
  const sharedByMany = isolation === CompartmentIsolation.SHARED && instances > 1;
  if (sharedByMany && ports.length > 0) {
    throw fail('ports', ports.map((p) => p.name), `cannot be declared with isolation shared and ${instances} instances: every instance would listen on them in one compartment; use isolation perInstance`);
  }
  if (sharedByMany && probe) {
    throw fail('probe.port', probe.port, `cannot be checked with isolation shared and ${instances} instances: only one of them can listen on it in the shared compartment; use isolation perInstance`);
  }
  const service = props.service ?? ports.length > 0;
  if (service && ports.length === 0) throw fail('service', true, 'needs ports to expose; declare ports, or leave service unset');
  const launcherLiveness = props.launcherLiveness ?? probe !== undefined;
  if (launcherLiveness && !probe) throw fail('launcherLiveness', true, 'needs a probe to reach the executable through its anchor; declare a probe');
  const clusterDomain = props.clusterDomain ?? 'cluster.local';
  check('clusterDomain', clusterDomain, DNS_DOMAIN.test(clusterDomain) ? undefined : 'must be a DNS domain like cluster.local');

  // Meshed, kubelet's probes reach the anchors through the Linkerd proxy without an identity, and Windows
  // proxies ignore config.linkerd.io/skip-inbound-ports: the probe port needs an authorization.
  const probeSharesPort = probe !== undefined && ports.some((p) => p.port === probe.port && p.protocol === 'TCP');
  const networks = props.probe?.kubeletNetworks;
  if (networks !== undefined && !meshed) {
    throw fail('probe.kubeletNetworks', networks, 'only applies to meshed workloads (it becomes a Linkerd NetworkAuthentication)');
  }
  if (networks === undefined && meshed && probeSharesPort) {
    throw fail('probe.port', probe!.port, 'is also a declared port: authorizing kubelet there from every network would open the port to anyone without mTLS; '
      + 'give the probe a port of its own, or set probe.kubeletNetworks to the addresses kubelet probes from');
  }
  if (networks !== undefined && (!Array.isArray(networks) || networks.length === 0)) throw fail('probe.kubeletNetworks', networks, 'must list at least one CIDR');
  const kubeletNetworks = (networks ?? ['0.0.0.0/0', '::/0']).map((cidr, i) => {
    const parsed = parseCidr(cidr);
    if (typeof parsed === 'string') throw fail(`probe.kubeletNetworks[${i}]`, cidr, parsed);
    return parsed.text;
  });

  const images = { pauseImage: props.pauseImage ?? DEFAULT_PAUSE_IMAGE, hostProcessImage: props.hostProcessImage ?? DEFAULT_WINDOWS_IMAGE };
  for (const [field, image] of Object.entries(images)) check(field, image, imageProblem(image));
  const launcherUser = props.launcherUser ?? K2S_SYSTEM_USER;
  check('launcherUser', launcherUser, userNameProblem(launcherUser));
  const labelTimeout = wholeSeconds(props.labelTimeout ?? Duration.seconds(60));
  if (labelTimeout === undefined || labelTimeout < 1 || labelTimeout > 3600) {
    throw fail('labelTimeout', props.labelTimeout?.toHumanString(), 'must be whole seconds from 1s to 1h');
  }

  const { launcherPath, flags, volumes } = planLauncher(props, fail);
  const command = (key: string) => [
    launcherPath, '-label', `${ANCHOR_LABEL}=${key}`, '-namespace', namespace, '-label-timeout', `${labelTimeout}s`, ...flags,
    '--', props.executable, ...(props.args ?? []),
  ];
  const compartment = (key: string, suffix: string, launchers: number): Compartment => ({
    key, suffix, launchers, anchorName: `${name}-anchor${suffix}`, launcherName: `${name}-launcher${suffix}`, hostname: `anchor${suffix}`, command: command(key),
  });
  const compartments = isolation === CompartmentIsolation.SHARED
    ? [compartment(name, '', instances)]
    : Array.from({ length: instances }, (_, i) => compartment(`${name}.${i}`, `-${i}`, 1));
  const longest = Math.max(...compartments.map((c) => c.command.reduce((n, arg) => n + arg.length + 3, 0)));
  if (longest > MAX_COMMAND_LINE) throw fail('args', `${longest} characters`, `make a command line longer than Windows accepts (${MAX_COMMAND_LINE})`);

  return {
    name,
    namespace,
    isolation,
    instances,
    meshed,
    compartments,
    labels: (component) => ({ 'app.kubernetes.io/name': name, 'app.kubernetes.io/component': component, 'app.kubernetes.io/managed-by': 'cdk8s' }),
    anchorSelector: { 'app.kubernetes.io/name': name, 'app.kubernetes.io/component': 'compartment-anchor' },
    ports,
    probe,
    service,
    anchorDns: launcherLiveness ? { service: `${name}-anchors`, clusterDomain } : undefined,
    env: planEnv(props.env ?? {}, fail),
    tolerations: tolerationsFor(props.windowsTaints ?? K2S_PROFILE.windowsTaints),
    ...images,
    anchorResources: props.anchorResources ?? { requests: { cpu: k8s.Quantity.fromString('10m'), memory: k8s.Quantity.fromString('32Mi') } },
    launcherResources: props.resources ?? { requests: { cpu: k8s.Quantity.fromString('100m'), memory: k8s.Quantity.fromString('128Mi') } },
    volumes,
    spread: compartments.length > 1,
    launcherUser: props.createRbac ?? true ? launcherUser : undefined,
    probeSharesPort,
    kubeletNetworks,
  };
}

function planPorts(ports: CompartmentPort[], fail: Fail): PlannedPort[] {
  const planned: PlannedPort[] = [];
  ports.forEach((p, i) => {
    const at = `ports[${i}]`;
    const nameProblem = portNameProblem(p.name);
    if (nameProblem) throw fail(`${at}.name`, p.name, nameProblem);
    if (portProblem(p.port)) throw fail(`${at}.port`, p.port, portProblem(p.port)!);
    const protocol = p.protocol ?? Protocol.TCP;
    if (protocol !== Protocol.TCP && protocol !== Protocol.UDP) throw fail(`${at}.protocol`, protocol, 'must be tcp or udp');
    const servicePort = p.servicePort ?? p.port;
    if (portProblem(servicePort)) throw fail(`${at}.servicePort`, servicePort, portProblem(servicePort)!);
    const kube = protocol.toUpperCase();
    if (planned.some((o) => o.name === p.name)) throw fail(`${at}.name`, p.name, 'is declared twice; port names must be unique');
    if (planned.some((o) => o.port === p.port && o.protocol === kube)) throw fail(`${at}.port`, p.port, `is declared twice for ${protocol}`);
    if (planned.some((o) => o.servicePort === servicePort && o.protocol === kube)) throw fail(`${at}.servicePort`, servicePort, `is declared twice for ${protocol}`);
    planned.push({ name: p.name, port: p.port, protocol: kube, servicePort });
  });
  return planned;
}

function planProbe(probe: CompartmentProbe, fail: Fail): PlannedProbe {
  if (portProblem(probe.port)) throw fail('probe.port', probe.port, portProblem(probe.port)!);
  if (probe.path !== undefined && !/^\/[\x21-\x7e]*$/.test(probe.path)) {
    throw fail('probe.path', probe.path, 'must be an absolute HTTP path: "/" then printable characters, no spaces');
  }
  const seconds = (field: string, value: Duration | undefined, fallback: Duration, min: number, max: number, range: string) => {
    const s = wholeSeconds(value ?? fallback);
    if (s === undefined || s < min || s > max) throw fail(field, (value ?? fallback).toHumanString(), `must be whole seconds from ${range}`);
    return s;
  };
  const period = seconds('probe.period', probe.period, Duration.seconds(10), 1, 3600, '1s to 1h');
  const timeout = seconds('probe.timeout', probe.timeout, Duration.seconds(3), 1, period, '1s to the probe period');
  const startup = seconds('probe.startupTimeout', probe.startupTimeout, Duration.minutes(5), period, 86400, 'the probe period to 24h');
  const failureThreshold = probe.failureThreshold ?? 3;
  if (!Number.isInteger(failureThreshold) || failureThreshold < 1 || failureThreshold > 100) {
    throw fail('probe.failureThreshold', failureThreshold, 'must be a whole number from 1 to 100');
  }
  return { port: probe.port, path: probe.path, period, timeout, failureThreshold, startup };
}

/** Environment variables in the order given; Windows names ignore case, so `Path` and `PATH` clash. */
function planEnv(env: { [name: string]: string }, fail: Fail): k8s.EnvVar[] {
  const seen = new Map<string, string>();
  return Object.entries(env).map(([name, value]) => {
    if (envNameProblem(name)) throw fail('env', name, envNameProblem(name)!);
    if (envValueProblem(value)) throw fail(`env.${name}`, value, envValueProblem(value)!);
    const upper = name.toUpperCase();
    if (upper === LAUNCHER_ENV) throw fail('env', name, 'is set by cplauncher for the executable; choose another name');
    if (seen.has(upper)) throw fail('env', name, `names the same variable as ${JSON.stringify(seen.get(upper))}: Windows environment names ignore case`);
    seen.set(upper, name);
    return { name, value };
  });
}

/** cplauncher's path and flags, the executable's arguments, and the host folders to mount. */
function planLauncher(props: CompartmentWorkloadProps, fail: Fail): { launcherPath: string; flags: string[]; volumes: HostVolume[] } {
  const check = (field: string, value: unknown, problem: string | undefined) => {
    if (problem) throw fail(field, value, problem);
  };
  const localFolder = (dir: string) => windowsPathProblem(dir, 'directory') ?? (isUncPath(dir) ? 'must be a local folder: a hostPath volume cannot be a UNC share' : undefined);
  check('executable', props.executable, windowsPathProblem(props.executable, 'executable'));
  (props.args ?? []).forEach((arg, i) => check(`args[${i}]`, arg, argumentProblem(arg)));
  const launcher = props.launcher ?? {};
  const installDir = launcher.installDir ?? 'C:\\k';
  check('launcher.installDir', installDir, windowsPathProblem(installDir, 'directory'));
  const launcherPath = launcher.path ?? `${installDir.replace(/\\$/, '')}\\bin\\cni\\cplauncher.exe`;
  check('launcher.path', launcherPath, windowsPathProblem(launcherPath, 'executable'));
  const logDir = launcher.logDir ?? 'C:\\var\\log';
  check('launcher.logDir', logDir, localFolder(logDir));
  const extraArgs = launcher.extraArgs ?? [];
  extraArgs.forEach((arg, i) => {
    check(`launcher.extraArgs[${i}]`, arg, argumentProblem(arg));
    // Go's flag package reads -flag, --flag and -flag=value alike
    if (arg === '--' || MANAGED_FLAGS.includes(arg.replace(/^--?/, '-').split('=')[0])) {
      throw fail(`launcher.extraArgs[${i}]`, arg, `is set by this construct; ${MANAGED_FLAGS.join(', ')} and -- come from the props`);
    }
  });
  const hostPaths = props.hostPaths ?? [];
  hostPaths.forEach((dir, i) => check(`hostPaths[${i}]`, dir, localFolder(dir)));
  return {
    launcherPath,
    flags: [...(launcher.waitForProcessTree ?? true ? ['-wait-tree'] : []), ...extraArgs],
    volumes: hostVolumes([
      { name: 'launcher', path: windowsDirname(launcherPath), type: 'Directory', readOnly: true },
      { name: 'app', path: windowsDirname(props.executable), type: 'Directory', readOnly: false },
      { name: 'logs', path: logDir, type: 'DirectoryOrCreate', readOnly: false },
      ...hostPaths.map((dir, i) => ({ name: `host-${i}`, path: dir, type: 'Directory', readOnly: false })),
    ]),
  };
}

/**
 * hostPath volumes mounted at their own path (a HostProcess container sees the host's disks anyway; the
 * mount makes kubelet check the folder exists). One per folder, as Windows paths ignore case; UNC
 * paths (an executable on a share) are not mountable and drive roots not worth mounting: both skipped.
 */
function hostVolumes(dirs: { name: string; path: string; type: string; readOnly: boolean }[]): HostVolume[] {
  const seen = new Set<string>();
  const volumes: HostVolume[] = [];
  for (const { name, path: given, type, readOnly } of dirs) {
    const path = given.replace(/\\$/, '');
    if (isUncPath(path) || /^[A-Za-z]:$/.test(path) || seen.has(path.toLowerCase())) continue;
    seen.add(path.toLowerCase());
    volumes.push({ volume: { name, hostPath: { path, type } }, mount: { name, mountPath: path, readOnly: readOnly || undefined } });
  }
  return volumes;
}

/** Whole seconds of a duration, or undefined when it has a fraction of a second. */
function wholeSeconds(duration: Duration): number | undefined {
  const seconds = duration.toMilliseconds() / 1000;
  return Number.isInteger(seconds) ? seconds : undefined;
}
