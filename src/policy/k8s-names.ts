/** Namespaces are DNS-1123 labels. */
const NAMESPACE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/**
 * Namespaces that Kubernetes or the cluster's own components create and own. A firewall that emits
 * one of them as a Namespace object relabels it (Pod Security `privileged`), and `kubectl delete -f`
 * of the manifests deletes it with everything in it.
 */
export const SYSTEM_NAMESPACES: readonly string[] = Object.freeze([
  // Kubernetes itself
  'default', 'kube-system', 'kube-public', 'kube-node-lease',
  // Linkerd, which covers TCP next to this firewall, and its extensions
  'linkerd', 'linkerd-viz', 'linkerd-cni', 'linkerd-jaeger', 'linkerd-multicluster',
  // network plugins of the built-in profiles (Flannel on K2s, Calico's operator) and Rancher
  'kube-flannel', 'calico-system', 'tigera-operator', 'cattle-system',
]);

/** Problem with a namespace name, or undefined. */
export function namespaceProblem(namespace: string): string | undefined {
  if (typeof namespace !== 'string' || !NAMESPACE.test(namespace)) return 'must be a DNS-1123 label (1-63 lowercase letters, digits or dashes)';
  return undefined;
}

/** Whether a namespace belongs to Kubernetes or a cluster component (see SYSTEM_NAMESPACES). */
export function isSystemNamespace(namespace: string): boolean {
  return SYSTEM_NAMESPACES.includes(namespace);
}

/** Why the firewall may not emit a system namespace (the same words in the construct and CLUSTER_CONFIG). */
export const SYSTEM_NAMESPACE_PROBLEM = 'is a system namespace: the firewall would relabel it privileged and \'kubectl delete -f\' would delete it; '
  + 'use a namespace of its own, or set createNamespace: false to deploy into it without emitting it';

/** `host:port` or `[ipv6]:port`, as nodes reach the API server. */
export const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[0-9.]+|[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?):[1-9][0-9]{0,4}$/;

/** A DNS domain, like the cluster's `cluster.local`. */
export const DNS_DOMAIN = /^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/;

/** An absolute host path that is safe in a manifest and in a shell word. */
export const HOST_PATH = /^\/[A-Za-z0-9._/-]{1,200}$/;

/** An absolute Windows directory: a drive, then names of letters, digits, spaces, ".", "_" and "-" (C:\\metrics). */
export const WINDOWS_PATH = /^[A-Za-z]:(\\[A-Za-z0-9 ._-]+){1,20}\\?$/;

/** What a WINDOWS_PATH must be, for error messages. */
export const WINDOWS_PATH_PROBLEM = 'must be an absolute Windows path of letters, digits, spaces, ".", "_" and "-", like C:\\metrics';

/** The name part of a label key, and a label value when not empty: 63 characters at most. */
const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
/** A label key's optional prefix: a DNS subdomain. */
const LABEL_PREFIX = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/**
 * Problem with a label key (`[prefix/]name`), or undefined.
 * @see https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#syntax-and-character-set
 */
export function labelKeyProblem(key: string): string | undefined {
  const problem = 'must be a label key: [a DNS subdomain of at most 253 characters and "/"] a name of 1-63 letters, digits, "-", "_" or "." that starts and ends with a letter or digit';
  if (typeof key !== 'string') return problem;
  const slash = key.indexOf('/');
  const prefix = slash < 0 ? undefined : key.slice(0, slash);
  const name = slash < 0 ? key : key.slice(slash + 1);
  if (prefix !== undefined && (prefix.length > 253 || !LABEL_PREFIX.test(prefix))) return problem;
  return LABEL_NAME.test(name) ? undefined : problem;
}

/** Problem with a label value (empty, or 1-63 letters, digits, `-`, `_`, `.`), or undefined. */
export function labelValueProblem(value: string): string | undefined {
  if (typeof value === 'string' && (value === '' || LABEL_NAME.test(value))) return undefined;
  return 'must be a label value: empty, or 1-63 letters, digits, "-", "_" or "." that starts and ends with a letter or digit';
}

/** The label the agents select their OS by: a nodeSelector may not set it. */
export const OS_LABEL = 'kubernetes.io/os';

/** Why a nodeSelector may not set OS_LABEL (the same words in the construct and CLUSTER_CONFIG). */
export const OS_LABEL_PROBLEM = 'is set by the firewall for each agent (linux, windows); choose the OSs with the profile\'s nodeOs instead';

/** Problem with a node selector as a whole (its keys and values, and the OS label), as [field, value, problem], or undefined. */
export function nodeSelectorProblem(selector: Record<string, string>): [string, unknown, string] | undefined {
  if (typeof selector !== 'object' || selector === null || Array.isArray(selector)) return ['nodeSelector', selector, 'must map label keys to label values'];
  for (const [key, value] of Object.entries(selector)) {
    const keyProblem = labelKeyProblem(key);
    if (keyProblem) return ['nodeSelector key', key, keyProblem];
    if (key === OS_LABEL) return [`nodeSelector.${key}`, value, OS_LABEL_PROBLEM];
    const valueProblem = labelValueProblem(value);
    if (valueProblem) return [`nodeSelector.${key}`, value, valueProblem];
  }
  return undefined;
}
