import { ApiObject, Lazy } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { firewallLabels } from './labels';
import { POLICY_HASH_ANNOTATION, policyHash } from './policy-hash';
import { LinuxScripts } from '../dialects/iptables';

/** Where the scripts are mounted in the pod. */
const SCRIPT_DIR = '/etc/hostnet';

/** Props of the Linux agent that enforces a rendered policy on every Linux node. */
export interface LinuxNodeAgentProps {
  readonly name: string;
  readonly namespace: string;
  readonly image: string;
  readonly reapplySeconds: number;
  /** iptables mode the scripts use: auto, legacy or nft. */
  readonly iptablesMode: string;
  /** Produces the scripts at synth time, after every rule was added. */
  readonly scripts: () => LinuxScripts;
}

/**
 * A ConfigMap with apply.sh / remove.sh / run.sh and a DaemonSet that runs them on every Linux node,
 * least-privilege: NET_ADMIN and NET_RAW instead of privileged, no hostPID, no API token.
 */
export class LinuxNodeAgent extends Construct {
  public readonly configMap: ApiObject;
  public readonly daemonSet: ApiObject;

  public constructor(scope: Construct, id: string, props: LinuxNodeAgentProps) {
    super(scope, id);
    const labels = firewallLabels(props.name, 'linux');
    const objectName = `${props.name}-linux`;
    let rendered: LinuxScripts | undefined;
    const scripts = () => (rendered ??= props.scripts());
    const runScript = () => `#!/bin/sh
# cdk8s-hostnet: apply the policy at start, then every ${props.reapplySeconds}s to repair drift
# (a hand-made flush, a restarted CNI). A failed start crashes the pod, so it shows; a failed
# re-apply keeps the previous rules in force and says so.
set -u
trap 'exit 0' TERM INT
sh ${SCRIPT_DIR}/apply.sh || exit 1
while :; do
  sleep ${props.reapplySeconds} &
  wait $!
  sh ${SCRIPT_DIR}/apply.sh || echo "hostnet: re-apply failed; the previous rules stay in force" >&2
done
`;

    const data = () => ({ 'apply.sh': scripts().apply, 'remove.sh': scripts().remove, 'run.sh': runScript() });
    this.configMap = new k8s.KubeConfigMap(this, 'Scripts', {
      metadata: { name: `${objectName}-scripts`, namespace: props.namespace, labels },
      data: Lazy.any({ produce: data }),
    });

    this.daemonSet = new k8s.KubeDaemonSet(this, 'Resource', {
      metadata: { name: objectName, namespace: props.namespace, labels },
      spec: {
        selector: { matchLabels: { 'app.kubernetes.io/name': labels['app.kubernetes.io/name'], 'app.kubernetes.io/instance': props.name, 'app.kubernetes.io/component': 'linux' } },
        updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: k8s.IntOrString.fromNumber(1) } },
        template: {
          metadata: { labels, annotations: { [POLICY_HASH_ANNOTATION]: Lazy.any({ produce: () => policyHash(data()) }) } },
          spec: {
            nodeSelector: { 'kubernetes.io/os': 'linux' },
            tolerations: [{ operator: 'Exists' }],
            hostNetwork: true,
            priorityClassName: 'system-node-critical',
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            terminationGracePeriodSeconds: 5,
            securityContext: { seccompProfile: { type: 'RuntimeDefault' } },
            containers: [{
              name: 'apply',
              image: props.image,
              imagePullPolicy: 'IfNotPresent',
              command: ['/bin/sh', `${SCRIPT_DIR}/run.sh`],
              env: [{ name: 'HOSTNET_IPTABLES_MODE', value: props.iptablesMode }],
              resources: {
                requests: { cpu: k8s.Quantity.fromString('10m'), memory: k8s.Quantity.fromString('32Mi') },
                limits: { memory: k8s.Quantity.fromString('96Mi') },
              },
              securityContext: {
                privileged: false,
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                runAsUser: 0,
                runAsNonRoot: false,
                capabilities: { drop: ['ALL'], add: ['NET_ADMIN', 'NET_RAW'] },
              },
              volumeMounts: [
                { name: 'scripts', mountPath: SCRIPT_DIR, readOnly: true },
                // shared with kube-proxy, so legacy iptables writers never interleave
                { name: 'xtables-lock', mountPath: '/run/xtables.lock' },
                { name: 'lib-modules', mountPath: '/lib/modules', readOnly: true },
              ],
            }],
            volumes: [
              { name: 'scripts', configMap: { name: `${objectName}-scripts`, defaultMode: 0o555 } },
              { name: 'xtables-lock', hostPath: { path: '/run/xtables.lock', type: 'FileOrCreate' } },
              { name: 'lib-modules', hostPath: { path: '/lib/modules', type: 'Directory' } },
            ],
          },
        },
      },
    });
    this.daemonSet.addDependency(this.configMap);
  }
}
