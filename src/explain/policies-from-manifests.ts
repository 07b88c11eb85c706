import { HostPolicy, readHostPolicy } from './host-policy';

/** The key of a NodeFirewall's `<name>-<os>-policy` ConfigMap that holds its compiled policy. */
export const POLICY_KEY = 'policy.json';

/**
 * The compiled policies (policy.json of each policy ConfigMap) among synthesized manifests, e.g.
 * `Testing.synth(chart)` or the documents of a dist/ file, checked, in the order found.
 * @param where names the manifests in error messages (a file name)
 */
export function policiesFromManifests(manifests: any[], where: string = 'manifests'): HostPolicy[] {
  const policies: HostPolicy[] = [];
  for (const object of manifests) {
    if (object?.kind !== 'ConfigMap' || typeof object?.data?.[POLICY_KEY] !== 'string') continue;
    const at = `${where}: ConfigMap ${object.metadata?.name ?? '(unnamed)'} ${POLICY_KEY}`;
    let parsed: unknown;
    try {
      parsed = JSON.parse(object.data[POLICY_KEY]);
    } catch (error) {
      throw new Error(`${at}: is not JSON (${error instanceof Error ? error.message : String(error)})`);
    }
    policies.push(readHostPolicy(parsed, at).doc);
  }
  return policies;
}
