import { Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { CompartmentIsolation } from '../constructs/compartment-options';
import { CompartmentWorkload } from '../constructs/compartment-workload';
import { NodeFirewall } from '../constructs/node-firewall';
import { Protocol } from '../policy/protocol';

const NAMESPACE = 'compartment-example';

/**
 * dist/compartment-example.k8s.yaml for the k2s profile: K2s's albums sample as a native Windows
 * executable, two instances with their own IP and Linkerd identity, and its UDP port opened on the
 * Windows nodes' firewall. `compartmentExample: false` in CLUSTER_CONFIG leaves it out.
 */
export class CompartmentExampleChart extends Chart {
  public readonly workload: CompartmentWorkload;

  public constructor(scope: Construct, id: string, firewall: NodeFirewall) {
    super(scope, id, { disableResourceNameHashes: true, namespace: NAMESPACE });
    new k8s.KubeNamespace(this, 'Namespace', {
      // HostProcess pods need the privileged Pod Security level
      metadata: { name: NAMESPACE, labels: { 'pod-security.kubernetes.io/enforce': 'privileged', 'app.kubernetes.io/part-of': 'cdk8s-hostnet' } },
    });
    this.workload = new CompartmentWorkload(this, 'albums-win', {
      executable: 'C:\\apps\\albums\\albumswin.exe',
      env: { RESOURCE: 'albums-win' },
      ports: [{ name: 'http', port: 8080 }, { name: 'metrics', port: 8125, protocol: Protocol.UDP }],
      probe: { port: 8081, path: '/health/readiness' },
      instances: 2,
      isolation: CompartmentIsolation.PER_INSTANCE,
      meshed: true,
      windowsTaints: firewall.profile.windowsTaints,
    });
    this.workload.addToFirewall(firewall);
  }
}
