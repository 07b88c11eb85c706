import { ClusterProfile } from './cluster-profile';
import { parseCidr } from '../policy/cidr';
import { namespaceProblem } from '../policy/k8s-names';
import { NodeOs } from '../policy/node-os';

/** Options of validateProfile. */
export interface ValidateProfileOptions {
  /**
   * Accept CIDRs of prefix length 0 (`0.0.0.0/0`, `::/0`) in podCidrs, upstreamResolvers and nodeCidrs.
   * @default false
   */
  readonly allowAnyAddress?: boolean;
}

/** What a CIDR that matches every address would open, per profile field, and what to list instead. */
export const ANY_ADDRESS: Record<string, string> = {
  podCidrs: 'DNS to the CoreDNS pods and every rule for pod addresses would apply to every address; list the cluster\'s pod networks',
  upstreamResolvers: 'DNS (udp and tcp 53) would be open to every address; list the resolvers\' own addresses',
  nodeCidrs: 'the infrastructure UDP kept open between nodes would be open to every address; list the nodes\' networks',
};

/**
 * Checks the network values of a profile (after overrides) so a bad CIDR is reported against the
 * profile field it came from, not against a rule derived from it.
 */
export function validateProfile(path: string, profile: ClusterProfile, options: ValidateProfileOptions = {}): void {
  const fail = (field: string, value: unknown, problem: string) =>
    new Error(`${path}: profile '${profile.name}' ${field} ${JSON.stringify(value)} ${problem}`);
  const cidrList = (field: string, values: string[] | undefined, required: boolean) => {
    if (values === undefined || values.length === 0) {
      if (required) throw fail(field, values ?? [], 'must list at least one CIDR; set it in the cluster config (CLUSTER_CONFIG)');
      return;
    }
    values.forEach((value, i) => {
      const parsed = parseCidr(value);
      if (typeof parsed === 'string') throw fail(`${field}[${i}]`, value, parsed);
      if (parsed.prefix === 0 && ANY_ADDRESS[field] && !options.allowAnyAddress) {
        throw fail(`${field}[${i}]`, value, anyAddressProblem(field));
      }
    });
  };
  const address = (field: string, value: string | undefined) => {
    const parsed = value ? parseCidr(value) : 'must be set; set it in the cluster config (CLUSTER_CONFIG)';
    if (typeof parsed === 'string') throw fail(field, value ?? '', parsed);
    if (parsed.prefix !== (parsed.family === 'ipv4' ? 32 : 128)) throw fail(field, value, 'must be a single address, not a range');
  };
  cidrList('podCidrs', profile.podCidrs, true);
  cidrList('serviceCidrs', profile.serviceCidrs, true);
  address('clusterDnsIp', profile.clusterDnsIp);
  cidrList('upstreamResolvers', profile.upstreamResolvers, true);
  cidrList('nodeCidrs', profile.nodeCidrs, false);
  if (profile.nodeLocalDnsIp !== undefined) address('nodeLocalDnsIp', profile.nodeLocalDnsIp);
  const namespace = namespaceProblem(profile.namespace);
  if (namespace) throw fail('namespace', profile.namespace, namespace);
  const oses = Object.values(NodeOs) as string[];
  if (!Array.isArray(profile.nodeOs) || profile.nodeOs.length === 0) {
    throw fail('nodeOs', profile.nodeOs ?? [], NO_NODE_OS_PROBLEM);
  }
  profile.nodeOs.forEach((os, i) => {
    if (!oses.includes(os)) throw fail(`nodeOs[${i}]`, os, `must be one of ${oses.join(', ')}`);
  });
}

/** The refusal of a prefix-0 CIDR in `field` (podCidrs, upstreamResolvers, nodeCidrs, customResolvers). */
export function anyAddressProblem(field: string): string {
  return `matches every address: ${ANY_ADDRESS[field] ?? ANY_ADDRESS.upstreamResolvers}, or set allowAnyAddress: true to accept it`;
}

/** The refusal of an empty nodeOs list. */
export const NO_NODE_OS_PROBLEM = `must name at least one of ${Object.values(NodeOs).join(', ')}: with none, no agent is deployed`;
