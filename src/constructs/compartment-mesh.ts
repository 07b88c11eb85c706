import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { AuthorizationPolicy } from '../imports/linkerd-authorization-policy-policy.linkerd.io';
import { NetworkAuthentication } from '../imports/linkerd-network-authentication-policy.linkerd.io';
import { ServerV1Beta3 } from '../imports/linkerd-server-policy.linkerd.io';

const POLICY_GROUP = 'policy.linkerd.io';

/** Props of the Linkerd policy that lets kubelet's probes reach meshed anchors. */
export interface CompartmentMeshPolicyProps {
  readonly name: string;
  readonly namespace: string;
  readonly labels: Record<string, string>;
  /** Labels of the anchor pods (not the HostProcess pods: they are never meshed). */
  readonly anchorSelector: Record<string, string>;
  /** The probe port. */
  readonly port: number;
  /** Networks kubelet probes come from, canonical CIDRs. */
  readonly kubeletNetworks: string[];
  /** What the Server does with traffic no authorization matches: `deny`, or `all-authenticated` on a port the app shares. */
  readonly accessPolicy: string;
}

/**
 * A Linkerd `Server` for the probe port of the anchors, a `NetworkAuthentication` of the networks kubelet
 * probes from, and an `AuthorizationPolicy` joining them. kubelet has no mesh identity, and the Windows
 * proxy ignores `config.linkerd.io/skip-inbound-ports`, so without this the probes get 403 and the
 * anchors never become ready. Classes from `cdk8s import` of crds/linkerd/.
 */
export class CompartmentMeshPolicy extends Construct {
  public readonly server: ApiObject;
  public readonly networkAuthentication: ApiObject;
  public readonly authorizationPolicy: ApiObject;

  public constructor(scope: Construct, id: string, props: CompartmentMeshPolicyProps) {
    super(scope, id);
    const metadata = (name: string) => ({ name, namespace: props.namespace, labels: props.labels });
    this.server = new ServerV1Beta3(this, 'Server', {
      metadata: metadata(`${props.name}-probe`),
      spec: {
        podSelector: { matchLabels: props.anchorSelector },
        port: props.port,
        accessPolicy: props.accessPolicy,
      },
    });
    this.networkAuthentication = new NetworkAuthentication(this, 'Kubelet', {
      metadata: metadata(`${props.name}-kubelet`),
      spec: { networks: props.kubeletNetworks.map((cidr) => ({ cidr })) },
    });
    this.authorizationPolicy = new AuthorizationPolicy(this, 'KubeletProbes', {
      metadata: metadata(`${props.name}-kubelet-probes`),
      spec: {
        targetRef: { group: POLICY_GROUP, kind: 'Server', name: this.server.name },
        requiredAuthenticationRefs: [{ group: POLICY_GROUP, kind: 'NetworkAuthentication', name: this.networkAuthentication.name }],
      },
    });
  }
}
