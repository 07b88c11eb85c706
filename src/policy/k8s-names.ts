/** Namespaces are DNS-1123 labels. */
const NAMESPACE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** Problem with a namespace name, or undefined. */
export function namespaceProblem(namespace: string): string | undefined {
  if (typeof namespace !== 'string' || !NAMESPACE.test(namespace)) return 'must be a DNS-1123 label (1-63 lowercase letters, digits or dashes)';
  return undefined;
}
