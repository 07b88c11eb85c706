import { Duration } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { AgentPodMonitor } from './agent-pod-monitor';
import { DnsExemption } from './dns-exemption';
import { imageProblem } from './image-reference';
import { OBJECT_NAME, firewallLabels } from './labels';
import { LinuxNodeAgent, MetricsExport } from './linux-node-agent';
import { WindowsMetricsExport, WindowsNodeAgent } from './windows-node-agent';
import { DnsCheck } from '../dialects/agent-options';
import { hostIdentifiers, hostNames, hostNamesProblem } from '../dialects/host-names';
import { renderIptables } from '../dialects/iptables';
import { renderNftables } from '../dialects/nftables';
import { renderWindowsFirewall } from '../dialects/windows-firewall';
import { hostPolicy, hostPolicyJson } from '../explain/host-policy';
import { grafanaDashboard } from '../observability/dashboard';
import { hostOrCidr, parseCidr } from '../policy/cidr';
import { IncrementalPolicyCheck, compilePolicy } from '../policy/compile-policy';
import { CompiledPolicy } from '../policy/compiled-policy';
import { DnsResolver, DnsResolverKind } from '../policy/dns-resolver';
import { nodeFailsafes } from '../policy/failsafes';
import { FirewallMode } from '../policy/firewall-mode';
import { FirewallPolicy } from '../policy/firewall-policy';
import { FirewallRuleProps, NamedRule, RuleOrigin } from '../policy/firewall-rule';
import {
  DNS_DOMAIN, HOST_PATH, HOST_PORT, SYSTEM_NAMESPACE_PROBLEM, WINDOWS_PATH, WINDOWS_PATH_PROBLEM, isSystemNamespace, nodeSelectorProblem,
} from '../policy/k8s-names';
import { NodeOs } from '../policy/node-os';
import { ClusterProfile } from '../profiles/cluster-profile';
import { infrastructureRules, profileResolvers } from '../profiles/profile-rules';
import { validateProfile } from '../profiles/validate-profile';
import { libraryVersion } from '../version';

/** How a Linux node enforces the policy. */
export enum LinuxBackend {
  /** iptables-restore into own chains (legacy or nft, as the node uses) with ipsets for lists. */
  IPTABLES = 'iptables',
  /** One own nftables table (`inet hostnet`, `inet hostnet-<name>` for other names) replaced atomically by `nft -f`, with sets for lists. */
  NFTABLES = 'nftables',
}

/** Which iptables a Linux node's rules go into (the iptables backend; nftables has one). */
export enum IptablesMode {
  /** Detect it on each node as iptables-wrapper does: kubelet's `KUBE-IPTABLES-HINT` chain decides. */
  AUTO = 'auto',
  /** iptables-legacy (the kernel's x_tables). */
  LEGACY = 'legacy',
  /** iptables-nft (nf_tables, through the iptables syntax). */
  NFT = 'nft',
}

/**
 * Image with iptables (legacy and nft), ipset and nft, and nothing installed at start.
 * @see https://github.com/kubernetes/release/tree/master/images/build/distroless-iptables
 */
export const DEFAULT_LINUX_IMAGE = 'registry.k8s.io/build-image/distroless-iptables:v0.9.6';

/**
 * The usual HostProcess base image (a few KB): powershell.exe comes from the host.
 * @see https://github.com/microsoft/windows-host-process-containers-base-image
 */
export const DEFAULT_WINDOWS_IMAGE = 'mcr.microsoft.com/oss/kubernetes/windows-host-process-containers-base-image:v1.0.0';

/** Props of a NodeFirewall. */
export interface NodeFirewallProps {
  /** The cluster the firewall protects: its CIDRs, resolvers and infrastructure traffic. */
  readonly profile: ClusterProfile;
  /**
   * Defaults and rules. The firewall keeps a copy: rules added to this object later do not reach it
   * (add them with `firewall.addRule()`), and two firewalls given one policy never share rules.
   * @default FirewallPolicy.denyUdp() - deny UDP except DNS and the profile's needs
   */
  readonly policy?: FirewallPolicy;
  /**
   * Base name of the objects (DaemonSet `<name>-linux`, ...) and of what the firewall owns on a node.
   * That is its iptables chains, nft table, ipsets, Windows rule group and state files: two firewalls of
   * different names never touch each other's rules. The default keeps the identifiers of earlier
   * releases (HOSTNET-INPUT, `inet hostnet`, group cdk8s-hostnet); any other name has at most 12
   * characters (HOSTNET-<NAME>-FORWARD must fit an iptables chain name).
   * @default 'hostnet'
   */
  readonly name?: string;
  /**
   * Labels a node must carry to run this firewall (a node pool: an edge pool and a worker pool can
   * carry different policies). Merged with the `kubernetes.io/os` label of each agent, which it may
   * not set. On a node two firewalls select, a packet passes only if both allow it (README).
   * @default - every node of the profile's OSs
   */
  readonly nodeSelector?: { [key: string]: string };
  /**
   * Namespace of the objects.
   * @default - the profile's namespace
   */
  readonly namespace?: string;
  /**
   * Create that namespace (first in the output, labelled for privileged pod security). A system
   * namespace (`SYSTEM_NAMESPACES`: kube-system, default, linkerd...) is refused while this is true:
   * the label would change it and `kubectl delete -f` would delete it. Set it to false to deploy
   * into an existing namespace without emitting it.
   * @default true
   */
  readonly createNamespace?: boolean;
  /**
   * Accept CIDRs that match every address (`0.0.0.0/0`, `::/0`: prefix length 0) in the profile's
   * podCidrs, upstreamResolvers and nodeCidrs and in resolvers added with `dns.addResolver()`.
   * Such a value opens DNS to every address, or widens every rule about pods or nodes to any host.
   * @default false - such a value is refused where it is declared
   */
  readonly allowAnyAddress?: boolean;
  /**
   * Linux agent image; it must contain sh, iptables-{legacy,nft}-restore and ipset. A reference
   * with a tag other than latest, or a digest (`name@sha256:<64 hex>`); only a digest pins the bytes.
   * @default DEFAULT_LINUX_IMAGE
   */
  readonly linuxImage?: string;
  /**
   * Windows agent image (HostProcess), with a tag other than latest or a digest, as linuxImage.
   * @default DEFAULT_WINDOWS_IMAGE
   */
  readonly windowsImage?: string;
  /**
   * How often the agent re-applies the policy to repair drift.
   * @default Duration.minutes(5)
   */
  readonly reapplyInterval?: Duration;
  /**
   * Linux enforcement backend.
   * @default LinuxBackend.IPTABLES
   */
  readonly linuxBackend?: LinuxBackend;
  /**
   * The iptables flavour of the nodes: AUTO detects it on each node as iptables-wrapper does.
   * @default IptablesMode.AUTO
   */
  readonly iptablesMode?: IptablesMode;
  /**
   * Enforce the policy, only count and log what it would drop (audit), or remove it from every node.
   * @default FirewallMode.ENFORCE
   */
  readonly mode?: FirewallMode;
  /**
   * How often the agent compares the rules in force with those it applied, and repairs them.
   * @default Duration.seconds(10)
   */
  readonly driftCheckInterval?: Duration;
  /**
   * Nodes whose agent may be replaced at once when the policy changes: the rollout's pace.
   * @default 1
   */
  readonly maxUnavailable?: number;
  /**
   * Seconds a new agent must stay Ready (its health checks passing) before the rollout moves on.
   * @default 30
   */
  readonly minReadySeconds?: number;
  /**
   * Image whose static busybox (nslookup, nc) the Linux agent's health checks use; an init container
   * copies it into the pod, so nothing is installed at start.
   * @default DEFAULT_CHECK_IMAGE
   */
  readonly checkImage?: string;
  /**
   * The node-exporter that serves the Linux agent's metrics (hostnet.prom) from a sidecar.
   * @default DEFAULT_NODE_EXPORTER_IMAGE
   */
  readonly nodeExporterImage?: string;
  /**
   * Port of that sidecar, on every node's addresses (the pod uses the host network).
   * @default 9847
   */
  readonly metricsPort?: number;
  /**
   * Write hostnet.prom into this host directory for the node-exporter you already run
   * (`--collector.textfile.directory`), instead of running a sidecar.
   * @default - a node-exporter sidecar serves it on metricsPort
   */
  readonly metricsTextfileDirectory?: string;
  /**
   * The windows_exporter that serves the Windows agent's metrics (hostnet.prom) from a HostProcess
   * sidecar, only its textfile collector, on metricsPort.
   * @default DEFAULT_WINDOWS_EXPORTER_IMAGE
   */
  readonly windowsExporterImage?: string;
  /**
   * Write the Windows agent's hostnet.prom into this directory of the host for the windows_exporter you
   * already run (its `--collector.textfile.directories`), instead of running a sidecar. An absolute
   * Windows path, like `C:\Program Files\windows_exporter\textfile_inputs`.
   * @default - a windows_exporter sidecar serves it on metricsPort
   */
  readonly windowsMetricsTextfileDirectory?: string;
  /**
   * Also emit a prometheus-operator PodMonitor that scrapes the metrics sidecars of the Linux and
   * Windows agents (the port named `metrics`). Needs at least one sidecar (no
   * metricsTextfileDirectory on one of the OSs).
   * @default false
   */
  readonly podMonitor?: boolean;
  /**
   * Also emit a ConfigMap holding a Grafana dashboard of the agents' metrics, labelled
   * `grafana_dashboard: "1"` for Grafana's dashboard sidecar.
   * @default false
   */
  readonly grafanaDashboard?: boolean;
  /**
   * Log each packet the Linux rules drop (or would drop, in audit mode), rate-limited per rule, and
   * print it with its rule id and 5-tuple in the agent's `drop-log` container (`kubectl logs`).
   * That container reads the kernel log, so it holds CAP_SYSLOG.
   * @default true
   */
  readonly dropLog?: boolean;
}

/**
 * node-exporter, whose textfile collector serves hostnet.prom.
 * @see https://github.com/prometheus/node_exporter#textfile-collector
 */
export const DEFAULT_NODE_EXPORTER_IMAGE = 'quay.io/prometheus/node-exporter:v1.8.2';

/**
 * windows_exporter, whose textfile collector serves the Windows agent's hostnet.prom; its image is a
 * HostProcess image (built on the HostProcess base image).
 * @see https://github.com/prometheus-community/windows_exporter/blob/master/docs/kubernetes/kubernetes.md
 */
export const DEFAULT_WINDOWS_EXPORTER_IMAGE = 'ghcr.io/prometheus-community/windows-exporter:0.31.3';

/** Seconds between two writes of the agents' metrics file (a scrape every 30-60 s is usual). */
const METRICS_SECONDS = 30;

/**
 * The Kubernetes e2e test image of busybox: a static binary with nslookup, nc, timeout and mv.
 * @see https://github.com/kubernetes/kubernetes/tree/master/test/images/busybox
 */
export const DEFAULT_CHECK_IMAGE = 'registry.k8s.io/e2e-test-images/busybox:1.36.1-1';

/**
 * One declared host firewall policy, enforced on every node of the cluster by a DaemonSet.
 * The profile's infrastructure traffic, DHCP and DNS to the declared resolvers are failsafes.
 */
export class NodeFirewall extends Construct {
  /** DNS that stays open; add resolvers here. */
  public readonly dns: DnsExemption;
  /** The policy the nodes enforce; `addRule()` adds to it. */
  public readonly policy: FirewallPolicy;
  /** The cluster profile, with `namespace` resolved (the prop's, else the profile's). */
  public readonly profile: ClusterProfile;
  /** Base name of the objects. */
  public readonly name: string;
  /** Namespace of the objects. */
  public readonly namespace: string;
  /** Labels a node must carry to run this firewall, besides its OS (empty: every node). */
  public readonly nodeSelector: { [key: string]: string };
  /** The Linux metrics sidecar's port on the node, if it runs one. */
  private readonly sidecarPort?: number;
  /** The policy's checks (addRule), for the DNS resolvers they were made with. */
  private checks?: { key: string; byOs: IncrementalPolicyCheck[] };

  /** Checks the props and profile, throwing with this construct's path, and declares the agents of the profile's node OSs. */
  public constructor(scope: Construct, id: string, props: NodeFirewallProps) {
    super(scope, id);
    this.profile = { ...props.profile, namespace: props.namespace ?? props.profile.namespace };
    const allowAnyAddress = props.allowAnyAddress ?? false;
    validateProfile(this.node.path, this.profile, { allowAnyAddress });
    this.policy = props.policy?.copy() ?? FirewallPolicy.denyUdp();
    this.name = props.name ?? 'hostnet';
    this.namespace = this.profile.namespace;
    const fail = (field: string, value: unknown, problem: string) => new Error(`${this.node.path}: ${field} ${JSON.stringify(value)} ${problem}`);
    if (!OBJECT_NAME.test(this.name)) throw fail('name', this.name, 'must be a DNS-1123 label of at most 40 characters');
    const hostProblem = hostNamesProblem(this.name);
    if (hostProblem) throw fail('name', this.name, hostProblem);
    const others = this.node.root.node.findAll().filter((c): c is NodeFirewall => c !== this && c instanceof NodeFirewall);
    // the same name emits every object twice (and, on a node, the same chains and table)
    const twin = others.find((c) => c.name === this.name);
    if (twin) throw fail('name', this.name, `is already the name of the NodeFirewall at ${twin.node.path}; give each NodeFirewall a name of its own`);
    // (names map one to one to host identifiers; this keeps it so should the mapping change)
    const ours = hostIdentifiers(hostNames(this.name));
    for (const other of others) {
      const shared = hostIdentifiers(hostNames(other.name)).find((identifier) => ours.includes(identifier));
      if (shared) throw fail('name', this.name, `would own ${shared} on a node, as the NodeFirewall at ${other.node.path} does; choose another name`);
    }
    const selectorProblem = nodeSelectorProblem(props.nodeSelector ?? {});
    if (selectorProblem) throw fail(...selectorProblem);
    this.nodeSelector = { ...props.nodeSelector };
    const createNamespace = props.createNamespace ?? true;
    if (createNamespace && isSystemNamespace(this.namespace)) {
      throw fail('namespace', this.namespace, SYSTEM_NAMESPACE_PROBLEM);
    }
    const checkedImage = (field: string, image: string) => {
      const problem = imageProblem(image);
      if (problem) throw fail(field, image, problem);
      return image;
    };
    const image = checkedImage('linuxImage', props.linuxImage ?? DEFAULT_LINUX_IMAGE);
    const windowsImage = checkedImage('windowsImage', props.windowsImage ?? DEFAULT_WINDOWS_IMAGE);
    const reapplySeconds = (props.reapplyInterval ?? Duration.minutes(5)).toMilliseconds() / 1000;
    if (!Number.isInteger(reapplySeconds) || reapplySeconds < 10 || reapplySeconds > 86400) {
      throw fail('reapplyInterval', reapplySeconds, 'must be whole seconds between 10 and 86400');
    }
    const iptablesMode = props.iptablesMode ?? IptablesMode.AUTO;
    if (!Object.values(IptablesMode).includes(iptablesMode)) throw fail('iptablesMode', iptablesMode, `must be one of ${Object.values(IptablesMode).join(', ')}`);
    const backend = props.linuxBackend ?? LinuxBackend.IPTABLES;
    if (!Object.values(LinuxBackend).includes(backend)) throw fail('linuxBackend', backend, `must be one of ${Object.values(LinuxBackend).join(', ')}`);
    const mode = props.mode ?? FirewallMode.ENFORCE;
    if (!Object.values(FirewallMode).includes(mode)) throw fail('mode', mode, `must be one of ${Object.values(FirewallMode).join(', ')}`);
    const driftSeconds = (props.driftCheckInterval ?? Duration.seconds(10)).toMilliseconds() / 1000;
    if (!Number.isInteger(driftSeconds) || driftSeconds < 1 || driftSeconds > 3600) {
      throw fail('driftCheckInterval', driftSeconds, 'must be whole seconds between 1 and 3600');
    }
    const maxUnavailable = props.maxUnavailable ?? 1;
    if (!Number.isInteger(maxUnavailable) || maxUnavailable < 1) throw fail('maxUnavailable', maxUnavailable, 'must be a whole number of nodes, at least 1');
    const minReadySeconds = props.minReadySeconds ?? 30;
    if (!Number.isInteger(minReadySeconds) || minReadySeconds < 0 || minReadySeconds > 3600) {
      throw fail('minReadySeconds', minReadySeconds, 'must be whole seconds between 0 and 3600');
    }
    const checkImage = checkedImage('checkImage', props.checkImage ?? DEFAULT_CHECK_IMAGE);
    const metricsPort = props.metricsPort ?? 9847;
    if (!Number.isInteger(metricsPort) || metricsPort < 1 || metricsPort > 65535) throw fail('metricsPort', metricsPort, 'must be a port from 1 to 65535');
    const textfileDir = props.metricsTextfileDirectory;
    if (textfileDir !== undefined && !HOST_PATH.test(textfileDir)) {
      throw fail('metricsTextfileDirectory', textfileDir, 'must be an absolute path of letters, digits, ".", "_", "-" and "/"');
    }
    const metrics: MetricsExport = textfileDir !== undefined ? { kind: 'hostPath', directory: textfileDir }
      : { kind: 'sidecar', image: checkedImage('nodeExporterImage', props.nodeExporterImage ?? DEFAULT_NODE_EXPORTER_IMAGE), port: metricsPort };
    const windowsTextfileDir = props.windowsMetricsTextfileDirectory;
    if (windowsTextfileDir !== undefined && !WINDOWS_PATH.test(windowsTextfileDir)) {
      throw fail('windowsMetricsTextfileDirectory', windowsTextfileDir, WINDOWS_PATH_PROBLEM);
    }
    const windowsMetrics: WindowsMetricsExport = windowsTextfileDir !== undefined ? { kind: 'directory', directory: windowsTextfileDir }
      : { kind: 'sidecar', image: checkedImage('windowsExporterImage', props.windowsExporterImage ?? DEFAULT_WINDOWS_EXPORTER_IMAGE), port: metricsPort };
    const sidecarOn = [NodeOs.LINUX, NodeOs.WINDOWS].filter((os) => this.profile.nodeOs.includes(os)
      && (os === NodeOs.LINUX ? metrics : windowsMetrics).kind === 'sidecar');
    if (props.podMonitor && sidecarOn.length === 0) {
      throw fail('podMonitor', true, 'needs a metrics sidecar to scrape, but every agent writes into the exporter you run (metricsTextfileDirectory, windowsMetricsTextfileDirectory)');
    }
    // the sidecars listen on the node's own network: two on one node need two ports
    this.sidecarPort = metrics.kind === 'sidecar' && this.profile.nodeOs.includes(NodeOs.LINUX) ? metricsPort : undefined;
    const portTwin = others.find((other) => other.sidecarPort !== undefined && other.sidecarPort === this.sidecarPort
      && mayShareNodes(this.nodeSelector, other.nodeSelector));
    if (portTwin) {
      throw fail('metricsPort', metricsPort, `is also the metrics port of the NodeFirewall at ${portTwin.node.path}, whose nodeSelector may select the same nodes; give each its own port`);
    }
    const apiServer = this.profile.apiServer;
    if (apiServer !== undefined && !HOST_PORT.test(apiServer)) {
      throw fail('apiServer', apiServer, 'must be host:port or [ipv6]:port, like 172.19.1.100:6443');
    }
    const clusterDomain = this.profile.clusterDomain ?? 'cluster.local';
    if (!DNS_DOMAIN.test(clusterDomain)) throw fail('clusterDomain', clusterDomain, 'must be a DNS domain, like cluster.local');

    // what `cdk8s-hostnet explain` needs besides the rules: NodeLocal DNSCache's untracked addresses (read at synth time)
    const policyJson = (compiled: CompiledPolicy, os: NodeOs, policyBackend: string) => hostPolicyJson(hostPolicy(compiled, {
      firewall: this.name,
      nodeOs: os,
      backend: policyBackend,
      mode,
      version: libraryVersion(),
      untrackedDns: [...new Set(this.dns.resolvers.filter((r) => r.kind === DnsResolverKind.NODE_LOCAL_CACHE).flatMap((r) => r.addresses))],
    }));

    // what each node's loop needs besides the rules (resolvers are read at synth time: addResolver may come later)
    const agentOptions = (agentBackend: string) => ({
      name: this.name,
      mode,
      backend: agentBackend,
      version: libraryVersion(),
      metricsSeconds: METRICS_SECONDS,
      reapplySeconds,
      driftSeconds,
      dnsChecks: dnsChecks(this.dns.resolvers),
      dnsName: `kubernetes.default.svc.${clusterDomain}`,
      apiServer,
    });

    if (createNamespace) {
      new k8s.KubeNamespace(this, 'Namespace', {
        metadata: {
          name: this.namespace,
          labels: {
            ...firewallLabels(this.name, 'namespace'),
            // hostNetwork and NET_ADMIN need the privileged Pod Security level
            'pod-security.kubernetes.io/enforce': 'privileged',
          },
        },
      });
    }
    if (props.grafanaDashboard) {
      new k8s.KubeConfigMap(this, 'Dashboard', {
        metadata: {
          name: `${this.name}-dashboard`,
          namespace: this.namespace,
          labels: { ...firewallLabels(this.name, 'dashboard'), grafana_dashboard: '1' },
        },
        data: { 'cdk8s-hostnet.json': JSON.stringify(grafanaDashboard(), undefined, 2) },
      });
    }
    if (props.podMonitor) new AgentPodMonitor(this, 'PodMonitor', { name: this.name, namespace: this.namespace });
    this.dns = new DnsExemption(this, 'Dns', { resolvers: profileResolvers(this.profile), allowAnyAddress });
    // a bad rule or a deny cutting a failsafe throws here, at the call that made it, not at synth
    this.policyChecks();

    if (this.profile.nodeOs.includes(NodeOs.LINUX)) {
      new LinuxNodeAgent(this, 'Linux', {
        name: this.name,
        namespace: this.namespace,
        nodeSelector: this.nodeSelector,
        image,
        checkImage,
        iptablesMode,
        usesIptables: backend === LinuxBackend.IPTABLES,
        maxUnavailable,
        minReadySeconds,
        metrics,
        dropLog: props.dropLog ?? true,
        scripts: () => {
          const compiled = this._compile(NodeOs.LINUX);
          return {
            scripts: (backend === LinuxBackend.NFTABLES ? renderNftables : renderIptables)(compiled, this.name, mode),
            agent: agentOptions(backend),
            policyJson: policyJson(compiled, NodeOs.LINUX, backend),
          };
        },
      });
    }
    if (this.profile.nodeOs.includes(NodeOs.WINDOWS)) {
      new WindowsNodeAgent(this, 'Windows', {
        name: this.name,
        namespace: this.namespace,
        nodeSelector: this.nodeSelector,
        image: windowsImage,
        reapplySeconds,
        maxUnavailable,
        minReadySeconds,
        taints: this.profile.windowsTaints,
        metrics: windowsMetrics,
        scripts: () => {
          const compiled = this._compile(NodeOs.WINDOWS);
          return { scripts: renderWindowsFirewall(compiled, this.name, mode), agent: agentOptions('windows-firewall'), policyJson: policyJson(compiled, NodeOs.WINDOWS, 'windows-firewall') };
        },
      });
    }
  }

  /**
   * Adds a rule to the policy, checked here with the failsafes: a bad rule throws now, naming this
   * construct's path, and the policy stays as it was.
   */
  public addRule(id: string, props: FirewallRuleProps): NodeFirewall {
    const rule: NamedRule = { id, origin: RuleOrigin.USER, props };
    const checks = this.policyChecks();
    const parts = checks.map((check) => check.check(rule));
    this.policy._addRule(this.node.path, id, props);
    checks.forEach((check, i) => check.record(rule, parts[i]));
    return this;
  }

  /**
   * The policy's checks per node OS, as synth will compile it (throwing with this construct's path),
   * kept up to date rule by rule; made anew when `dns.addResolver` changed the failsafes.
   */
  private policyChecks(): IncrementalPolicyCheck[] {
    const key = JSON.stringify(this.dns.resolvers);
    if (this.checks?.key !== key) {
      this.checks = { key, byOs: this.profile.nodeOs.map((os) => new IncrementalPolicyCheck(this.node.path, this.policy, this.failsafes(os), os)) };
    }
    return this.checks.byOs;
  }

  private failsafes(os: NodeOs): NamedRule[] {
    return [...nodeFailsafes(), ...infrastructureRules(this.profile, os), ...this.dns._rules()];
  }

  /** @internal the checked policy for nodes of one OS, with every failsafe; throws naming this construct's path */
  public _compile(os: NodeOs): CompiledPolicy {
    return compilePolicy(this.node.path, this.policy, this.failsafes(os), os);
  }
}

/** Whether one node can carry the labels of both selectors: no key of both asks for two values. */
function mayShareNodes(a: { [key: string]: string }, b: { [key: string]: string }): boolean {
  return Object.keys(a).every((key) => b[key] === undefined || b[key] === a[key]);
}

/** The resolvers the agent checks, the cluster DNS Service first: single addresses only (a CIDR names no server). */
function dnsChecks(resolvers: DnsResolver[]): DnsCheck[] {
  const labels: Partial<Record<DnsResolverKind, string>> = {
    [DnsResolverKind.CLUSTER_SERVICE]: 'cluster-dns',
    [DnsResolverKind.NODE_LOCAL_CACHE]: 'node-local-dns',
    [DnsResolverKind.UPSTREAM]: 'upstream',
    [DnsResolverKind.CUSTOM]: 'custom',
  };
  const order = Object.keys(labels);
  return [...resolvers].sort((a, b) => order.indexOf(a.kind) - order.indexOf(b.kind)).flatMap((resolver) => {
    const label = labels[resolver.kind];
    const addresses = resolver.kind === DnsResolverKind.NODE_LOCAL_CACHE ? resolver.addresses.slice(0, 1) : resolver.addresses;
    return label === undefined ? [] : addresses.flatMap((address) => {
      const cidr = parseCidr(address);
      return typeof cidr !== 'string' && cidr.prefix === (cidr.family === 'ipv4' ? 32 : 128) ? [{ label, server: hostOrCidr(cidr) }] : [];
    });
  });
}
