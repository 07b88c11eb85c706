// Example: K2s's albums sample, an unmodified native Windows executable, run as a CompartmentWorkload
// (two instances, each with its own pod IP and Linkerd identity) next to a NodeFirewall that opens the
// sample's UDP port on the Windows nodes only. Not part of dist/: a demo has no place in the firewall
// every cluster applies. Synthesize it with
//   npx ts-node examples/compartment-workload.ts     (writes examples/dist/compartment-workload.k8s.yaml)
// In your own app, import from 'cdk8s-hostnet' instead of '../src'.
import { App, Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { ClusterProfiles, CompartmentIsolation, CompartmentWorkload, NodeFirewall, Protocol } from '../src';

const NAMESPACE = 'compartment-example';

/** The firewall of a K2s cluster plus the albums sample, in one chart. */
export class CompartmentExampleChart extends Chart {
  public readonly firewall: NodeFirewall;
  public readonly workload: CompartmentWorkload;

  public constructor(scope: Construct, id: string) {
    super(scope, id, { disableResourceNameHashes: true });
    this.firewall = new NodeFirewall(this, 'NodeFirewall', { profile: ClusterProfiles.k2s() });
    new k8s.KubeNamespace(this, 'Namespace', {
      // HostProcess pods need the privileged Pod Security level
      metadata: { name: NAMESPACE, labels: { 'pod-security.kubernetes.io/enforce': 'privileged', 'app.kubernetes.io/part-of': 'cdk8s-hostnet' } },
    });
    this.workload = new CompartmentWorkload(this, 'albums-win', {
      namespace: NAMESPACE,
      executable: 'C:\\apps\\albums\\albumswin.exe',
      env: { RESOURCE: 'albums-win' },
      ports: [{ name: 'http', port: 8080 }, { name: 'metrics', port: 8125, protocol: Protocol.UDP }],
      probe: { port: 8081, path: '/health/readiness' },
      instances: 2,
      isolation: CompartmentIsolation.PER_INSTANCE,
      meshed: true,
      windowsTaints: this.firewall.profile.windowsTaints,
    });
    // the sample's UDP port (8125) becomes an exemption of this firewall, on Windows nodes only
    this.workload.addToFirewall(this.firewall);
  }
}

if (require.main === module) {
  const app = new App({ outdir: `${__dirname}/dist` });
  new CompartmentExampleChart(app, 'compartment-workload');
  app.synth();
}
