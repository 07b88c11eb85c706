import { closestName, count, displayFile, fieldPath, shortValue } from './config-errors';
import { readConfigYaml } from './config-yaml';
import { imageProblem } from '../constructs/image-reference';
import { LinuxBackend } from '../constructs/node-firewall';
import { hostNamesProblem } from '../dialects/host-names';
import { Cidr, parseCidr } from '../policy/cidr';
import { FirewallMode } from '../policy/firewall-mode';
import { FirewallRuleProps } from '../policy/firewall-rule';
import {
  DNS_DOMAIN, HOST_PATH, HOST_PORT, OS_LABEL, OS_LABEL_PROBLEM, SYSTEM_NAMESPACE_PROBLEM, WINDOWS_PATH, WINDOWS_PATH_PROBLEM, isSystemNamespace,
  labelKeyProblem, labelValueProblem, namespaceProblem,
} from '../policy/k8s-names';
import { NodeOs } from '../policy/node-os';
import { PortRange, portRangeProblem } from '../policy/port-range';
import { Protocol, RuleAction, TrafficScope, hasPorts } from '../policy/protocol';
import { ClusterProfile, InfrastructurePort } from '../profiles/cluster-profile';
import { NO_NODE_OS_PROBLEM, anyAddressProblem, validateProfile } from '../profiles/validate-profile';

/** What a cluster's override file (CLUSTER_CONFIG) may set. */
export interface ClusterConfig {
  /** The override file as error messages name it; undefined without CLUSTER_CONFIG. */
  readonly file?: string;
  readonly profile: ClusterProfile;
  readonly exemptions: { id: string; props: FirewallRuleProps }[];
  readonly customResolvers: string[];
  readonly name?: string;
  readonly linuxImage?: string;
  readonly windowsImage?: string;
  readonly iptablesMode?: string;
  readonly linuxBackend?: LinuxBackend;
  readonly reapplyIntervalSeconds?: number;
  /** Emit the namespace (NodeFirewallProps.createNamespace). @default - the NodeFirewall's default */
  readonly createNamespace?: boolean;
  /** Accept CIDRs of prefix length 0 (NodeFirewallProps.allowAnyAddress). @default - the NodeFirewall's default */
  readonly allowAnyAddress?: boolean;
  /** enforce, audit or remove (NodeFirewallProps.mode). @default - the NodeFirewall's default */
  readonly mode?: FirewallMode;
  /** NodeFirewallProps.driftCheckInterval in seconds. @default - the NodeFirewall's default */
  readonly driftCheckIntervalSeconds?: number;
  /** NodeFirewallProps.maxUnavailable. @default - the NodeFirewall's default */
  readonly maxUnavailable?: number;
  /** NodeFirewallProps.minReadySeconds. @default - the NodeFirewall's default */
  readonly minReadySeconds?: number;
  /** NodeFirewallProps.checkImage. @default - the NodeFirewall's default */
  readonly checkImage?: string;
  /** NodeFirewallProps.nodeExporterImage. @default - the NodeFirewall's default */
  readonly nodeExporterImage?: string;
  /** NodeFirewallProps.metricsPort. @default - the NodeFirewall's default */
  readonly metricsPort?: number;
  /** NodeFirewallProps.metricsTextfileDirectory. @default - the NodeFirewall's default */
  readonly metricsTextfileDirectory?: string;
  /** NodeFirewallProps.grafanaDashboard. @default - the NodeFirewall's default */
  readonly grafanaDashboard?: boolean;
  /** NodeFirewallProps.dropLog. @default - the NodeFirewall's default */
  readonly dropLog?: boolean;
  /** NodeFirewallProps.windowsExporterImage. @default - the NodeFirewall's default */
  readonly windowsExporterImage?: string;
  /** NodeFirewallProps.windowsMetricsTextfileDirectory. @default - the NodeFirewall's default */
  readonly windowsMetricsTextfileDirectory?: string;
  /** NodeFirewallProps.podMonitor. @default - the NodeFirewall's default */
  readonly podMonitor?: boolean;
  /** NodeFirewallProps.nodeSelector: labels a node must carry. @default - every node of the profile's OSs */
  readonly nodeSelector?: Record<string, string>;
}

const FIELDS = ['podCidrs', 'serviceCidrs', 'clusterDnsIp', 'upstreamResolvers', 'nodeCidrs', 'nodeLocalDnsIp', 'customResolvers',
  'infrastructure', 'exemptions', 'namespace', 'createNamespace', 'nodeOs', 'name', 'linuxImage',
  'windowsImage', 'linuxBackend', 'iptablesMode', 'reapplyIntervalSeconds', 'allowAnyAddress', 'mode', 'driftCheckIntervalSeconds',
  'maxUnavailable', 'minReadySeconds', 'checkImage', 'apiServer', 'clusterDomain', 'nodeExporterImage', 'metricsPort',
  'metricsTextfileDirectory', 'grafanaDashboard', 'windowsExporterImage', 'windowsMetricsTextfileDirectory', 'podMonitor', 'dropLog', 'nodeSelector'];
const RULE_FIELDS = ['id', 'action', 'protocol', 'scopes', 'sources', 'destinations', 'sourcePorts', 'destinationPorts', 'nodeOs',
  'description', 'overrideFailsafe'];
const INFRA_FIELDS = ['id', 'protocol', 'ports', 'scopes', 'nodeOs', 'fromPods', 'description'];
// as compilePolicy checks them, here so that the error names the field and shows a short value;
// infrastructure ids get a 4-character scope suffix (`-in`, `-out`, `-fwd`)
const RULE_ID = /^[a-z0-9]([a-z0-9-]{0,46}[a-z0-9])?$/;
const INFRA_ID = /^[a-z0-9]([a-z0-9-]{0,42}[a-z0-9])?$/;
const DESCRIPTION = /^[\x20-\x7e]{1,200}$/;
const OBJECT_NAME = /^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$/;
const MAX_IMAGE_CHARS = 512;
const CIDR_EXAMPLE = 'like ["10.0.0.0/16"]';

/** Reads an override file (`readConfigYaml` says what it refuses) and merges it; an empty file overrides nothing. */
export function loadClusterConfig(file: string, base: ClusterProfile): ClusterConfig {
  return parseClusterConfig(file, readConfigYaml(file) ?? {}, base);
}

/**
 * Checks an override document and merges it over the profile. Errors name the file, the path in the
 * document (`exemptions[2].destinationPorts[0]`) and a short form of the value, and say what is expected.
 */
export function parseClusterConfig(file: string, doc: unknown, base: ClusterProfile): ClusterConfig {
  const where = displayFile(file);
  const fail = (path: string, value: unknown, problem: string, valueChars?: number) =>
    new Error(`${where}: ${path} ${shortValue(value, valueChars)} ${problem}`);
  const read = new Reader(fail);
  if (typeof doc === 'object' && doc !== null && 'compartmentExample' in doc) {
    throw fail('compartmentExample', (doc as Record<string, unknown>).compartmentExample,
      'is no longer needed: dist/ holds only the firewall, and the CompartmentWorkload example lives in examples/compartment-workload.ts');
  }
  const raw = read.mapping('document', doc, FIELDS, [], 'a mapping of override fields, like podCidrs: [10.32.0.0/16]');

  const profile: Record<string, unknown> = { ...base };
  const cidrs = (field: string, anyWhenOmitted: boolean) => {
    if (field in raw) profile[field] = read.cidrs(field, raw[field], anyWhenOmitted ? 'or be left out for any address' : CIDR_EXAMPLE);
  };
  // a prefix-0 CIDR opens DNS or widens pod and node rules to every address: only with allowAnyAddress
  const anyAddress = (field: string, list: unknown) => {
    if (raw.allowAnyAddress === true || !Array.isArray(list)) return;
    list.forEach((item, i) => {
      const cidr = typeof item === 'string' ? parseCidr(item) : undefined;
      if (cidr !== undefined && typeof cidr !== 'string' && cidr.prefix === 0) throw fail(`${field}[${i}]`, item, anyAddressProblem(field));
    });
  };
  for (const field of ['podCidrs', 'upstreamResolvers', 'nodeCidrs', 'customResolvers']) anyAddress(field, raw[field]);
  cidrs('podCidrs', false);
  cidrs('serviceCidrs', false);
  cidrs('upstreamResolvers', false);
  cidrs('nodeCidrs', true);
  for (const field of ['clusterDnsIp', 'nodeLocalDnsIp']) if (field in raw) profile[field] = read.address(field, raw[field]);
  if ('namespace' in raw) {
    const problem = namespaceProblem(raw.namespace as string);
    if (problem) throw fail('namespace', raw.namespace, problem);
    if (raw.createNamespace !== false && isSystemNamespace(raw.namespace as string)) throw fail('namespace', raw.namespace, SYSTEM_NAMESPACE_PROBLEM);
    profile.namespace = raw.namespace;
  }
  if ('nodeOs' in raw) {
    if (Array.isArray(raw.nodeOs) && raw.nodeOs.length === 0) throw fail('nodeOs', raw.nodeOs, NO_NODE_OS_PROBLEM);
    profile.nodeOs = read.nodeOs('nodeOs', raw.nodeOs);
  }
  if ('apiServer' in raw) {
    profile.apiServer = read.matching('apiServer', raw.apiServer, HOST_PORT,
      'must be host:port or [ipv6]:port, like "172.19.1.100:6443"');
  }
  if ('clusterDomain' in raw) {
    profile.clusterDomain = read.matching('clusterDomain', raw.clusterDomain, DNS_DOMAIN, 'must be a DNS domain, like "cluster.local"');
  }
  if ('infrastructure' in raw) profile.infrastructure = [...base.infrastructure, ...read.infrastructure(raw.infrastructure, base)];

  const whole = (path: string, value: unknown, min: number, max: number, unit: string): number => {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      throw fail(path, value, `must be a whole number of ${unit} from ${min} to ${max}`);
    }
    return value;
  };
  const optional = <T>(field: string, check: (path: string, value: unknown) => T): T | undefined =>
    raw[field] === undefined ? undefined : check(field, raw[field]);
  const image = (path: string, value: unknown) => {
    const text = read.text(path, value, MAX_IMAGE_CHARS, 'an image reference, like "registry.example.com/agent:v1.0"');
    const problem = imageProblem(text);
    if (problem) throw fail(path, value, problem);
    return text;
  };
  // the merged profile, checked here so that a value the profile lacks is asked of this file
  validateProfile(where, profile as unknown as ClusterProfile, { allowAnyAddress: raw.allowAnyAddress === true });
  return {
    file: where,
    profile: profile as unknown as ClusterProfile,
    exemptions: raw.exemptions === undefined ? [] : read.exemptions(raw.exemptions),
    customResolvers: raw.customResolvers === undefined ? [] : read.cidrs('customResolvers', raw.customResolvers, CIDR_EXAMPLE, true),
    name: optional('name', (path, value) => {
      const name = read.matching(path, value, OBJECT_NAME, 'must be a DNS-1123 label of at most 40 characters, like "hostnet"');
      const problem = hostNamesProblem(name);
      if (problem) throw fail(path, value, problem);
      return name;
    }),
    nodeSelector: optional('nodeSelector', (path, value) => read.labels(path, value)),
    linuxImage: optional('linuxImage', image),
    windowsImage: optional('windowsImage', image),
    iptablesMode: optional('iptablesMode', (path, value) => read.oneOf(path, value, ['auto', 'legacy', 'nft'])),
    linuxBackend: optional('linuxBackend', (path, value) => read.oneOf(path, value, Object.values(LinuxBackend))),
    reapplyIntervalSeconds: optional('reapplyIntervalSeconds', (path, value) => whole(path, value, 10, 86400, 'seconds')),
    createNamespace: optional('createNamespace', (path, value) => read.bool(path, value)),
    mode: optional('mode', (path, value) => read.oneOf(path, value, Object.values(FirewallMode))),
    driftCheckIntervalSeconds: optional('driftCheckIntervalSeconds', (path, value) => whole(path, value, 1, 3600, 'seconds')),
    maxUnavailable: optional('maxUnavailable', (path, value) => whole(path, value, 1, 100000, 'nodes')),
    minReadySeconds: optional('minReadySeconds', (path, value) => whole(path, value, 0, 3600, 'seconds')),
    checkImage: optional('checkImage', image),
    nodeExporterImage: optional('nodeExporterImage', image),
    grafanaDashboard: optional('grafanaDashboard', (path, value) => read.bool(path, value)),
    dropLog: optional('dropLog', (path, value) => read.bool(path, value)),
    metricsPort: optional('metricsPort', (path, value) => {
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 65535) throw fail(path, value, 'must be a port from 1 to 65535');
      return value;
    }),
    metricsTextfileDirectory: optional('metricsTextfileDirectory', (path, value) => read.matching(path, value, HOST_PATH,
      'must be an absolute path of letters, digits, ".", "_", "-" and "/", like "/var/lib/node_exporter/textfile_collector"')),
    allowAnyAddress: optional('allowAnyAddress', (path, value) => read.bool(path, value)),
    windowsExporterImage: optional('windowsExporterImage', image),
    windowsMetricsTextfileDirectory: optional('windowsMetricsTextfileDirectory', (path, value) => read.matching(path, value, WINDOWS_PATH, WINDOWS_PATH_PROBLEM)),
    podMonitor: optional('podMonitor', (path, value) => read.bool(path, value)),
  };
}

type Fail = (path: string, value: unknown, problem: string, valueChars?: number) => Error;

/** Type and value checks of the override fields; every method throws the first problem as `fail` formats it. */
class Reader {
  public constructor(private readonly fail: Fail) {}

  public mapping(path: string, value: unknown, known: string[], required: string[], expected: string): Record<string, unknown> {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw this.fail(path, value, `must be ${expected}`);
    const entry = value as Record<string, unknown>;
    for (const key of Object.keys(entry)) {
      if (known.includes(key)) continue;
      const guess = closestName(key, known);
      const hint = guess ? `did you mean '${guess}'?`
        : path === 'document' ? 'the README lists the fields (Overriding a profile: CLUSTER_CONFIG)' : `known fields: ${known.join(', ')}`;
      // the value cut shorter: the list of known fields is long
      throw this.fail(fieldPath(path === 'document' ? '' : path, key), entry[key], `is not a known field; ${hint}`, 40);
    }
    const missing = required.find((key) => entry[key] === undefined);
    if (missing) throw this.fail(path, value, `has no ${missing}; each entry needs ${required.join(', ')}`);
    return entry;
  }

  /** A map of Kubernetes label keys to label values, without the OS label the agents set themselves. */
  public labels(path: string, value: unknown): Record<string, string> {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw this.fail(path, value, 'must map label keys to label values, like {node-pool: edge}');
    const labels: Record<string, string> = {};
    for (const [key, label] of Object.entries(value as Record<string, unknown>)) {
      const at = fieldPath(path, key);
      const keyProblem = labelKeyProblem(key);
      if (keyProblem) throw this.fail(at, key, keyProblem);
      if (key === OS_LABEL) throw this.fail(at, label, OS_LABEL_PROBLEM);
      if (typeof label !== 'string') throw this.fail(at, label, 'must be a label value in quotes (a string), like "edge"');
      const valueProblem = labelValueProblem(label);
      if (valueProblem) throw this.fail(at, label, valueProblem);
      labels[key] = label;
    }
    return labels;
  }

  public list(path: string, value: unknown, expected: string): unknown[] {
    if (!Array.isArray(value)) throw this.fail(path, value, `must be ${expected}`);
    return value;
  }

  public text(path: string, value: unknown, maxChars: number, expected: string): string {
    if (typeof value !== 'string' || value === '') throw this.fail(path, value, `must be ${expected}`);
    if (value.length > maxChars) throw this.fail(path, value, `must be at most ${count(maxChars)} characters`);
    return value;
  }

  public matching(path: string, value: unknown, pattern: RegExp, problem: string): string {
    if (typeof value !== 'string' || !pattern.test(value)) throw this.fail(path, value, problem);
    return value;
  }

  public bool(path: string, value: unknown): boolean {
    if (typeof value !== 'boolean') throw this.fail(path, value, 'must be true or false');
    return value;
  }

  public oneOf<T extends string>(path: string, value: unknown, allowed: T[]): T {
    if (!allowed.includes(value as T)) throw this.fail(path, value, `must be one of ${allowed.join(', ')}`);
    return value as T;
  }

  /** A non-empty list of distinct allowed words, like scopes or nodeOs. */
  public words<T extends string>(path: string, value: unknown, allowed: T[], example: string): T[] {
    const list = this.list(path, value, `a list, like ${example}`);
    if (list.length === 0) throw this.fail(path, value, `must list at least one of ${allowed.join(', ')}`);
    const seen = new Map<string, number>();
    return list.map((item, i) => {
      const word = this.oneOf(`${path}[${i}]`, item, allowed);
      if (seen.has(word)) throw this.fail(`${path}[${i}]`, item, `repeats ${path}[${seen.get(word)}]`);
      seen.set(word, i);
      return word;
    });
  }

  public nodeOs(path: string, value: unknown): NodeOs[] {
    return this.words(path, value, Object.values(NodeOs), '[linux] or [linux, windows]');
  }

  public scopes(path: string, value: unknown): TrafficScope[] {
    return this.words(path, value, Object.values(TrafficScope), '[nodeEgress]');
  }

  /** A list of CIDRs or addresses, each valid, no two overlapping; `ifEmpty` says what to write instead of []. */
  public cidrs(path: string, value: unknown, ifEmpty: string, mayBeEmpty = false): string[] {
    const list = this.list(path, value, `a list of CIDRs, ${CIDR_EXAMPLE}`);
    if (list.length === 0 && !mayBeEmpty) throw this.fail(path, value, `must list at least one CIDR, ${ifEmpty}`);
    const parsed = list.map((item, i) => {
      if (typeof item !== 'string') throw this.fail(`${path}[${i}]`, item, 'must be a CIDR or an address, like "10.0.0.0/16" or "192.0.2.53"');
      const cidr = parseCidr(item);
      if (typeof cidr === 'string') throw this.fail(`${path}[${i}]`, item, cidr);
      return cidr;
    });
    this.noOverlap(path, list, parsed.map((c: Cidr) => ({ group: c.family, first: c.first, last: c.last })));
    return list as string[];
  }

  /** One address (a CIDR of one host), like the cluster DNS Service IP. */
  public address(path: string, value: unknown): string {
    if (typeof value !== 'string') throw this.fail(path, value, 'must be an IP address, like "10.96.0.10"');
    const cidr = parseCidr(value);
    if (typeof cidr === 'string') throw this.fail(path, value, cidr);
    if (cidr.prefix !== (cidr.family === 'ipv4' ? 32 : 128)) throw this.fail(path, value, 'must be a single address, not a range');
    return value;
  }

  /** Ports as numbers or text (`53`, `"53"`, `"1000-2000"`), each within 1-65535, no two overlapping. */
  public ports(path: string, value: unknown, ifEmpty: string): PortRange[] {
    const list = this.list(path, value, 'a list of ports, like [53] or ["1000-2000"]');
    if (list.length === 0) throw this.fail(path, value, `must list at least one port, ${ifEmpty}`);
    const ranges = list.map((item, i) => {
      const range = typeof item === 'number' ? (Number.isInteger(item) ? PortRange.of(item) : undefined)
        : typeof item === 'string' ? PortRange.parse(item) : undefined;
      if (!range) throw this.fail(`${path}[${i}]`, item, 'must be a port or a range, like 53 or "1000-2000"');
      const problem = portRangeProblem(range);
      if (problem) throw this.fail(`${path}[${i}]`, item, problem);
      return range;
    });
    this.noOverlap(path, list, ranges.map((r) => ({ group: '', first: BigInt(r.from), last: BigInt(r.to) })));
    return ranges;
  }

  public exemptions(value: unknown): { id: string; props: FirewallRuleProps }[] {
    const required = ['id', 'protocol', 'scopes', 'description'];
    const list = this.list('exemptions', value, 'a list of rules, each a mapping with id, protocol, scopes and description');
    const ids = new Map<string, number>();
    return list.map((item, i) => {
      const at = `exemptions[${i}]`;
      const e = this.mapping(at, item, RULE_FIELDS, required, 'a mapping with id, protocol, scopes and description');
      const id = this.matching(`${at}.id`, e.id, RULE_ID,
        'must be 1-48 lowercase letters, digits or dashes, starting and ending with a letter or digit');
      if (ids.has(id)) throw this.fail(`${at}.id`, id, `repeats exemptions[${ids.get(id)}].id`);
      ids.set(id, i);
      const action = e.action === undefined ? RuleAction.ALLOW : this.oneOf(`${at}.action`, e.action, Object.values(RuleAction));
      const protocol = this.oneOf(`${at}.protocol`, e.protocol, Object.values(Protocol));
      const ports = (field: string) => {
        if (e[field] === undefined) return undefined;
        if (!hasPorts(protocol)) throw this.fail(`${at}.${field}`, e[field], `cannot be used with protocol ${protocol}; ports exist for udp and tcp only`);
        return this.ports(`${at}.${field}`, e[field], 'or be left out for any port');
      };
      const cidrs = (field: string) => (e[field] === undefined ? undefined : this.cidrs(`${at}.${field}`, e[field], 'or be left out for any address'));
      const overrideFailsafe = e.overrideFailsafe === undefined ? undefined : this.bool(`${at}.overrideFailsafe`, e.overrideFailsafe);
      if (overrideFailsafe && action !== RuleAction.DENY) {
        throw this.fail(`${at}.overrideFailsafe`, true, 'only applies to deny rules; add action: deny or remove it');
      }
      const props: FirewallRuleProps = {
        action,
        protocol,
        scopes: this.scopes(`${at}.scopes`, e.scopes),
        sources: cidrs('sources'),
        destinations: cidrs('destinations'),
        sourcePorts: ports('sourcePorts'),
        destinationPorts: ports('destinationPorts'),
        nodeOs: e.nodeOs === undefined ? undefined : this.nodeOs(`${at}.nodeOs`, e.nodeOs),
        description: this.matching(`${at}.description`, e.description, DESCRIPTION, 'must be one line of 1-200 printable ASCII characters'),
        overrideFailsafe,
      };
      return { id, props };
    });
  }

  public infrastructure(value: unknown, base: ClusterProfile): InfrastructurePort[] {
    const required = ['id', 'protocol', 'ports', 'scopes', 'description'];
    const list = this.list('infrastructure', value, 'a list of ports to keep open, each a mapping with id, protocol, ports, scopes and description');
    const ids = new Map<string, number>();
    return list.map((item, i) => {
      const at = `infrastructure[${i}]`;
      const e = this.mapping(at, item, INFRA_FIELDS, required, 'a mapping with id, protocol, ports, scopes and description');
      const id = this.matching(`${at}.id`, e.id, INFRA_ID,
        'must be 1-44 lowercase letters, digits or dashes, starting and ending with a letter or digit');
      if (ids.has(id)) throw this.fail(`${at}.id`, id, `repeats infrastructure[${ids.get(id)}].id`);
      if (base.infrastructure.some((port) => port.id === id)) {
        throw this.fail(`${at}.id`, id, `is already an infrastructure id of profile '${base.name}'; choose another`);
      }
      ids.set(id, i);
      return {
        id,
        protocol: this.oneOf(`${at}.protocol`, e.protocol, [Protocol.UDP, Protocol.TCP]),
        ports: this.ports(`${at}.ports`, e.ports, 'like [4789]'),
        scopes: this.scopes(`${at}.scopes`, e.scopes),
        nodeOs: e.nodeOs === undefined ? [NodeOs.LINUX, NodeOs.WINDOWS] : this.nodeOs(`${at}.nodeOs`, e.nodeOs),
        fromPods: e.fromPods === undefined ? undefined : this.bool(`${at}.fromPods`, e.fromPods),
        description: this.matching(`${at}.description`, e.description, DESCRIPTION, 'must be one line of 1-200 printable ASCII characters'),
      };
    });
  }

  /**
   * Refuses two entries of one list that overlap, naming both, the later one in the file first.
   * Sorted by start (widest first), each entry is compared with the widest one before it: O(n log n),
   * as lists may hold 100,000 entries, and every overlap shows as at least one such pair.
   */
  private noOverlap(path: string, values: unknown[], spans: { group: string; first: bigint; last: bigint }[]): void {
    const order = spans.map((_, i) => i).sort((a, b) => {
      const x = spans[a];
      const y = spans[b];
      if (x.group !== y.group) return x.group < y.group ? -1 : 1;
      if (x.first !== y.first) return x.first < y.first ? -1 : 1;
      if (x.last !== y.last) return x.last > y.last ? -1 : 1;
      return a - b;
    });
    let widest = -1;
    for (const i of order) {
      const span = spans[i];
      if (widest >= 0 && spans[widest].group === span.group && spans[widest].last >= span.first) {
        const [later, earlier] = [Math.max(i, widest), Math.min(i, widest)];
        throw this.fail(`${path}[${later}]`, values[later], `overlaps ${path}[${earlier}] ${shortValue(values[earlier])}`);
      }
      if (widest < 0 || spans[widest].group !== span.group || span.last > spans[widest].last) widest = i;
    }
  }
}
