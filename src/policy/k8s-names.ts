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
