import { CFKE_CILIUM_PROFILE } from './cfke-cilium';
import { ClusterProfile } from './cluster-profile';
import { GENERIC_PROFILE } from './generic';
import { K0S_CALICO_PROFILE } from './k0s-calico';
import { K0S_KUBE_ROUTER_PROFILE } from './k0s-kube-router';
import { K2S_PROFILE } from './k2s';

const ALL = [K2S_PROFILE, K0S_KUBE_ROUTER_PROFILE, K0S_CALICO_PROFILE, CFKE_CILIUM_PROFILE, GENERIC_PROFILE];

/** A copy of a profile whose lists are its own: changing it changes no other profile. */
function copyProfile(p: ClusterProfile): ClusterProfile {
  return {
    ...p,
    podCidrs: [...p.podCidrs],
    serviceCidrs: [...p.serviceCidrs],
    upstreamResolvers: [...p.upstreamResolvers],
    nodeCidrs: p.nodeCidrs && [...p.nodeCidrs],
    // PortRange is immutable: the ranges themselves may be shared
    infrastructure: p.infrastructure.map((i) => ({ ...i, ports: [...i.ports], scopes: [...i.scopes], nodeOs: [...i.nodeOs] })),
    nodeOs: [...p.nodeOs],
    windowsTaints: p.windowsTaints.map((t) => ({ ...t })),
  };
}

/** The built-in cluster profiles; each call returns a copy of its own. */
export class ClusterProfiles {
  /** K2s: Flannel host-gw, Linux control plane and Windows nodes. */
  public static k2s(): ClusterProfile { return copyProfile(K2S_PROFILE); }
  /** k0s with kube-router. */
  public static k0sKubeRouter(): ClusterProfile { return copyProfile(K0S_KUBE_ROUTER_PROFILE); }
  /** k0s with Calico VXLAN. */
  public static k0sCalico(): ClusterProfile { return copyProfile(K0S_CALICO_PROFILE); }
  /** Cilium VXLAN over a WireGuard node mesh (CFKE style). */
  public static cfkeCilium(): ClusterProfile { return copyProfile(CFKE_CILIUM_PROFILE); }
  /** Everything from the user. */
  public static generic(): ClusterProfile { return copyProfile(GENERIC_PROFILE); }

  /** Names `CLUSTER_PROFILE` accepts. */
  public static names(): string[] { return ALL.map((p) => p.name); }

  /** The profile of that name. Throws naming the valid names otherwise. */
  public static byName(name: string): ClusterProfile {
    const found = ALL.find((p) => p.name === name);
    if (!found) throw new Error(`CLUSTER_PROFILE ${JSON.stringify(name)} is not a known profile; use one of ${ClusterProfiles.names().join(', ')}`);
    return copyProfile(found);
  }

  // static members only
  private constructor() {}
}
