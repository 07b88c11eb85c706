// What kube-proxy in iptables mode installs for the cluster DNS Service, as iptables-restore input:
// a DNAT of the Service IP to one CoreDNS endpoint and a foreign filter chain that must survive us.

/** The nat and filter tables' lines (no trailing COMMIT of further tables). */
export function kubeProxyStandInRules(clusterDns: string, corednsEndpoint: string): string[] {
  const dnat = (proto: string) =>
    `-A KUBE-SERVICES -d ${clusterDns}/32 -p ${proto} -m ${proto} --dport 53 ` +
    `-m comment --comment "kube-system/kube-dns:dns-${proto}" -j DNAT --to-destination ${corednsEndpoint}:53`;
  return [
    '*nat',
    ':KUBE-SERVICES - [0:0]',
    '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    dnat('udp'),
    dnat('tcp'),
    'COMMIT',
    '*filter',
    ':KUBE-FORWARD - [0:0]',
    '-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD',
    '-A KUBE-FORWARD -m comment --comment kube-forward-marker -j RETURN',
    'COMMIT',
  ];
}
