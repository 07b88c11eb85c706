import { Construct } from 'constructs';
import { firewallLabels } from './labels';
import { PodMonitor } from '../imports/prometheus-podmonitor-monitoring.coreos.com';

/** The name of the metrics port on both agents' pods (node-exporter on Linux, windows_exporter on Windows). */
export const METRICS_PORT_NAME = 'metrics';

/** Props of the PodMonitor over one NodeFirewall's agents. */
export interface AgentPodMonitorProps {
  readonly name: string;
  readonly namespace: string;
}

/**
 * A prometheus-operator PodMonitor that scrapes the metrics port of every agent pod of one
 * NodeFirewall, Linux and Windows alike: it selects them by the labels they share (not by component),
 * and the port is named the same on both.
 * @see https://prometheus-operator.dev/docs/api-reference/api/#monitoring.coreos.com/v1.PodMonitor
 */
export class AgentPodMonitor extends Construct {
  public constructor(scope: Construct, id: string, props: AgentPodMonitorProps) {
    super(scope, id);
    const labels = firewallLabels(props.name, 'metrics');
    new PodMonitor(this, 'Resource', {
      metadata: { name: `${props.name}-agents`, namespace: props.namespace, labels },
      spec: {
        selector: {
          matchLabels: {
            'app.kubernetes.io/name': labels['app.kubernetes.io/name'],
            'app.kubernetes.io/instance': props.name,
          },
        },
        podMetricsEndpoints: [{ port: METRICS_PORT_NAME }],
      },
    });
  }
}
