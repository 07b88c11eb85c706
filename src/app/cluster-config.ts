import { readFileSync } from 'fs';
import { parseAllDocuments } from 'yaml';
import { LinuxBackend } from '../constructs/node-firewall';
import { FirewallRuleProps } from '../policy/firewall-rule';
import { NodeOs } from '../policy/node-os';
import { PortRange } from '../policy/port-range';
import { Protocol, RuleAction, TrafficScope } from '../policy/protocol';
import { ClusterProfile, InfrastructurePort } from '../profiles/cluster-profile';

/** What a cluster's override file (CLUSTER_CONFIG) may set. */
export interface ClusterConfig {
  readonly profile: ClusterProfile;
  readonly exemptions: { id: string; props: FirewallRuleProps }[];
  readonly customResolvers: string[];
  readonly name?: string;
  readonly linuxImage?: string;
  readonly windowsImage?: string;
  readonly iptablesMode?: string;
  readonly linuxBackend?: LinuxBackend;
  readonly reapplyIntervalSeconds?: number;
  /** Include the CompartmentWorkload example chart (default: for profiles with Windows nodes). */
  readonly compartmentExample?: boolean;
}

const PROFILE_LISTS = ['podCidrs', 'serviceCidrs', 'upstreamResolvers', 'nodeCidrs'] as const;
const PROFILE_STRINGS = ['clusterDnsIp', 'nodeLocalDnsIp', 'namespace'] as const;
const OTHER_STRINGS = ['name', 'linuxImage', 'windowsImage', 'iptablesMode', 'linuxBackend'] as const;
const KNOWN = new Set<string>([...PROFILE_LISTS, ...PROFILE_STRINGS, ...OTHER_STRINGS,
  'customResolvers', 'exemptions', 'infrastructure', 'reapplyIntervalSeconds', 'nodeOs', 'compartmentExample']);
const RULE_KEYS = new Set(['id', 'protocol', 'scopes', 'sources', 'destinations', 'destinationPorts', 'sourcePorts', 'nodeOs', 'description']);
const INFRA_KEYS = new Set(['id', 'protocol', 'ports', 'scopes', 'nodeOs', 'fromPods', 'description']);

/** Reads an override file; see `parseClusterConfig`. */
export function loadClusterConfig(file: string, base: ClusterProfile): ClusterConfig {
  // read in-process: cdk8s's Yaml.load starts a node child process per file, even for local files
  const parsed = parseAllDocuments(readFileSync(file, 'utf8'));
  for (const doc of parsed) {
    if (doc.errors.length > 0) throw new Error(`${file}: is not valid YAML: ${doc.errors[0].message}`);
  }
  const docs = parsed.map((d) => d.toJS()).filter((d) => d !== null && d !== undefined);
  if (docs.length > 1) throw new Error(`${file}: holds ${docs.length} YAML documents; put all overrides in one`);
  return parseClusterConfig(file, docs[0] ?? {}, base);
}

/**
 * Checks an override document and merges it over the profile. Errors name the file, the field
 * and the value. CIDR syntax is checked where the values are used, against the profile field.
 */
export function parseClusterConfig(file: string, doc: unknown, base: ClusterProfile): ClusterConfig {
  const fail = (field: string, value: unknown, problem: string) => new Error(`${file}: ${field} ${JSON.stringify(value)} ${problem}`);
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw fail('(document)', doc, 'must be a mapping of override fields');
  const raw = doc as Record<string, unknown>;
  for (const key of Object.keys(raw)) {
    if (!KNOWN.has(key)) throw fail(key, raw[key], `is not a known field; known fields: ${[...KNOWN].sort().join(', ')}`);
  }
  const strings = (field: string, value: unknown): string[] => {
    if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw fail(field, value, 'must be a list of strings');
    return value as string[];
  };
  const str = (field: string, value: unknown): string => {
    if (typeof value !== 'string') throw fail(field, value, 'must be a string');
    return value;
  };
  const bool = (field: string, value: unknown): boolean => {
    if (typeof value !== 'boolean') throw fail(field, value, 'must be true or false');
    return value;
  };
  const enumValue = <T extends string>(field: string, value: unknown, allowed: T[]): T => {
    if (!allowed.includes(value as T)) throw fail(field, value, `must be one of ${allowed.join(', ')}`);
    return value as T;
  };
  const ports = (field: string, value: unknown): PortRange[] => strings(field, (value as unknown[] | undefined)?.map(String) ?? value)
    .map((text, i) => PortRange.parse(text) ?? (() => { throw fail(`${field}[${i}]`, text, 'must be a port or a range like 1000-2000'); })());

  const profile: Record<string, unknown> = { ...base };
  for (const key of PROFILE_LISTS) if (key in raw) profile[key] = strings(key, raw[key]);
  for (const key of PROFILE_STRINGS) if (key in raw) profile[key] = str(key, raw[key]);
  if ('nodeOs' in raw) profile.nodeOs = strings('nodeOs', raw.nodeOs).map((v, i) => enumValue(`nodeOs[${i}]`, v, Object.values(NodeOs)));
  if ('infrastructure' in raw) {
    const list = raw.infrastructure;
    if (!Array.isArray(list)) throw fail('infrastructure', list, 'must be a list');
    const extra: InfrastructurePort[] = list.map((entry, i) => {
      const at = `infrastructure[${i}]`;
      const e = checkKeys(entry, at, INFRA_KEYS, ['id', 'protocol', 'ports', 'scopes', 'description'], fail);
      return {
        id: str(`${at}.id`, e.id),
        protocol: enumValue(`${at}.protocol`, e.protocol, [Protocol.UDP, Protocol.TCP]),
        ports: ports(`${at}.ports`, e.ports),
        scopes: strings(`${at}.scopes`, e.scopes).map((s, j) => enumValue(`${at}.scopes[${j}]`, s, Object.values(TrafficScope))),
        nodeOs: e.nodeOs === undefined ? [NodeOs.LINUX, NodeOs.WINDOWS]
          : strings(`${at}.nodeOs`, e.nodeOs).map((s, j) => enumValue(`${at}.nodeOs[${j}]`, s, Object.values(NodeOs))),
        fromPods: e.fromPods === undefined ? undefined : bool(`${at}.fromPods`, e.fromPods),
        description: str(`${at}.description`, e.description),
      };
    });
    profile.infrastructure = [...base.infrastructure, ...extra];
  }

  const exemptions = raw.exemptions === undefined ? [] : (() => {
    if (!Array.isArray(raw.exemptions)) throw fail('exemptions', raw.exemptions, 'must be a list');
    return raw.exemptions.map((entry, i) => {
      const at = `exemptions[${i}]`;
      const e = checkKeys(entry, at, RULE_KEYS, ['id', 'protocol', 'scopes', 'description'], fail);
      const props: FirewallRuleProps = {
        action: RuleAction.ALLOW,
        protocol: enumValue(`${at}.protocol`, e.protocol, Object.values(Protocol)),
        scopes: strings(`${at}.scopes`, e.scopes).map((s, j) => enumValue(`${at}.scopes[${j}]`, s, Object.values(TrafficScope))),
        sources: e.sources === undefined ? undefined : strings(`${at}.sources`, e.sources),
        destinations: e.destinations === undefined ? undefined : strings(`${at}.destinations`, e.destinations),
        destinationPorts: e.destinationPorts === undefined ? undefined : ports(`${at}.destinationPorts`, e.destinationPorts),
        sourcePorts: e.sourcePorts === undefined ? undefined : ports(`${at}.sourcePorts`, e.sourcePorts),
        nodeOs: e.nodeOs === undefined ? undefined
          : strings(`${at}.nodeOs`, e.nodeOs).map((s, j) => enumValue(`${at}.nodeOs[${j}]`, s, Object.values(NodeOs))),
        description: str(`${at}.description`, e.description),
      };
      return { id: str(`${at}.id`, e.id), props };
    });
  })();

  const interval = raw.reapplyIntervalSeconds;
  if (interval !== undefined && (typeof interval !== 'number' || !Number.isInteger(interval))) {
    throw fail('reapplyIntervalSeconds', interval, 'must be a whole number of seconds');
  }
  return {
    profile: profile as unknown as ClusterProfile,
    exemptions,
    customResolvers: raw.customResolvers === undefined ? [] : strings('customResolvers', raw.customResolvers),
    name: raw.name === undefined ? undefined : str('name', raw.name),
    linuxImage: raw.linuxImage === undefined ? undefined : str('linuxImage', raw.linuxImage),
    windowsImage: raw.windowsImage === undefined ? undefined : str('windowsImage', raw.windowsImage),
    iptablesMode: raw.iptablesMode === undefined ? undefined : enumValue('iptablesMode', raw.iptablesMode, ['auto', 'legacy', 'nft']),
    linuxBackend: raw.linuxBackend === undefined ? undefined : enumValue('linuxBackend', raw.linuxBackend, Object.values(LinuxBackend)),
    reapplyIntervalSeconds: interval as number | undefined,
    compartmentExample: raw.compartmentExample === undefined ? undefined : bool('compartmentExample', raw.compartmentExample),
  };
}

function checkKeys(entry: unknown, at: string, known: Set<string>, required: string[],
  fail: (field: string, value: unknown, problem: string) => Error): Record<string, unknown> {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw fail(at, entry, 'must be a mapping');
  const e = entry as Record<string, unknown>;
  for (const key of Object.keys(e)) if (!known.has(key)) throw fail(`${at}.${key}`, e[key], `is not a known field; known fields: ${[...known].join(', ')}`);
  for (const key of required) if (e[key] === undefined) throw fail(`${at}.${key}`, null, 'is required');
  return e;
}
