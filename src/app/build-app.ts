import { App } from 'cdk8s';
import { ClusterConfig } from './cluster-config';
import { CompartmentExampleChart } from './compartment-example';
import { HostnetChart } from './hostnet-chart';
import { NodeOs } from '../policy/node-os';

/**
 * The charts of one cluster: the NodeFirewall (dist/hostnet.k8s.yaml) and, for clusters with
 * Windows nodes unless the config says otherwise, the CompartmentWorkload example.
 */
export function buildApp(app: App, config: ClusterConfig): { hostnet: HostnetChart; example?: CompartmentExampleChart } {
  const hostnet = new HostnetChart(app, 'hostnet', config);
  const withExample = config.compartmentExample ?? config.profile.nodeOs.includes(NodeOs.WINDOWS);
  const example = withExample ? new CompartmentExampleChart(app, 'compartment-example', hostnet.firewall) : undefined;
  return { hostnet, example };
}
