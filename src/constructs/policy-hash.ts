import { createHash } from 'crypto';

/** Annotation on a pod template whose value changes with the scripts, so the DaemonSet rolls. */
export const POLICY_HASH_ANNOTATION = 'hostnet.cdk8s.io/policy-sha256';

export function policyHash(scripts: Record<string, string>): string {
  const hash = createHash('sha256');
  for (const name of Object.keys(scripts).sort()) hash.update(`${name}\0${scripts[name]}\0`);
  return hash.digest('hex');
}
