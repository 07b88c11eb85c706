import { CFKE_CILIUM_PROFILE } from './cfke-cilium';
import { ClusterProfile } from './cluster-profile';
import { GENERIC_PROFILE } from './generic';
import { K0S_CALICO_PROFILE } from './k0s-calico';
import { K0S_KUBE_ROUTER_PROFILE } from './k0s-kube-router';
import { K2S_PROFILE } from './k2s';

const ALL = [K2S_PROFILE, K0S_KUBE_ROUTER_PROFILE, K0S_CALICO_PROFILE, CFKE_CILIUM_PROFILE, GENERIC_PROFILE];

/** The built-in cluster profiles. */
export class ClusterProfiles {
  /** K2s: Flannel host-gw, Linux control plane and Windows nodes. */
  public static k2s(): ClusterProfile { return K2S_PROFILE; }
  /** k0s with kube-router. */
  public static k0sKubeRouter(): ClusterProfile { return K0S_KUBE_ROUTER_PROFILE; }
  /** k0s with Calico VXLAN. */
  public static k0sCalico(): ClusterProfile { return K0S_CALICO_PROFILE; }
  /** Cilium VXLAN over a WireGuard node mesh (CFKE style). */
  public static cfkeCilium(): ClusterProfile { return CFKE_CILIUM_PROFILE; }
  /** Everything from the user. */
  public static generic(): ClusterProfile { return GENERIC_PROFILE; }

  /** Names `CLUSTER_PROFILE` accepts. */
  public static names(): string[] { return ALL.map((p) => p.name); }

  /** The profile of that name. Throws naming the valid names otherwise. */
  public static byName(name: string): ClusterProfile {
    const found = ALL.find((p) => p.name === name);
    if (!found) throw new Error(`CLUSTER_PROFILE ${JSON.stringify(name)} is not a known profile; use one of ${ClusterProfiles.names().join(', ')}`);
    return found;
  }

  // static members only
  private constructor() {}
}
