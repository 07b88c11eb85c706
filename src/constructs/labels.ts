/** Recommended labels (app.kubernetes.io/*) for everything one NodeFirewall creates. */
export function firewallLabels(name: string, component: string): Record<string, string> {
  return {
    'app.kubernetes.io/name': 'hostnet-firewall',
    'app.kubernetes.io/instance': name,
    'app.kubernetes.io/component': component,
    'app.kubernetes.io/part-of': 'cdk8s-hostnet',
    'app.kubernetes.io/managed-by': 'cdk8s',
  };
}

/** Kubernetes object names: DNS-1123 labels, short enough for the suffixes we add. */
export const OBJECT_NAME = /^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$/;
