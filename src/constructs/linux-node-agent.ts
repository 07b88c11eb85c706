import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { NodeAgent } from './node-agent';
import { LinuxScripts } from '../dialects/iptables';
import { NodeOs } from '../policy/node-os';

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
 * apply.sh / remove.sh / run.sh on every Linux node, least-privilege: NET_ADMIN and NET_RAW
 * instead of privileged, no hostPID, no API token, tolerating every taint.
 */
export class LinuxNodeAgent extends NodeAgent {
  public constructor(scope: Construct, id: string, props: LinuxNodeAgentProps) {
    const runScript = `#!/bin/sh
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
    super(scope, id, {
      name: props.name,
      namespace: props.namespace,
      os: NodeOs.LINUX,
      files: () => {
        const scripts = props.scripts();
        return { 'apply.sh': scripts.apply, 'remove.sh': scripts.remove, 'run.sh': runScript };
      },
      tolerations: [{ operator: 'Exists' }],
      securityContext: { seccompProfile: { type: 'RuntimeDefault' } },
      scriptsMode: 0o555,
      container: {
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
      },
      extraVolumes: [
        { name: 'xtables-lock', hostPath: { path: '/run/xtables.lock', type: 'FileOrCreate' } },
        { name: 'lib-modules', hostPath: { path: '/lib/modules', type: 'Directory' } },
      ],
    });
  }
}
