import { ClusterProfile } from './cluster-profile';
import { parseCidr } from '../policy/cidr';
import { namespaceProblem } from '../policy/k8s-names';

/**
 * Checks the network values of a profile (after overrides) so a bad CIDR is reported against the
 * profile field it came from, not against a rule derived from it.
 */
export function validateProfile(path: string, profile: ClusterProfile): void {
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
}
