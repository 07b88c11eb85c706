import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { NodeAgent } from './node-agent';
import { LinuxScripts } from '../dialects/iptables';
import { NodeOs } from '../policy/node-os';

/** Where the scripts are mounted in the pod. */
const SCRIPT_DIR = '/etc/hostnet';

/** Host directory of the apply lock (apply.sh's default HOSTNET_LOCK_DIR): on tmpfs, gone at reboot. */
const LOCK_DIR = '/run/hostnet';

/** Props of the Linux agent that enforces a rendered policy on every Linux node. */
export interface LinuxNodeAgentProps {
  readonly name: string;
  readonly namespace: string;
  readonly image: string;
  readonly reapplySeconds: number;
  /** iptables mode the scripts use: auto, legacy or nft. */
  readonly iptablesMode: string;
  /**
   * The scripts drive iptables (legacy needs NET_RAW for its raw socket, and shares the host's
   * xtables lock with kube-proxy) rather than nft alone (netlink: NET_ADMIN is enough).
   */
  readonly usesIptables: boolean;
  /** Produces the scripts at synth time, after every rule was added. */
  readonly scripts: () => LinuxScripts;
}

/**
 * apply.sh / remove.sh / run.sh on every Linux node, least-privilege: NET_ADMIN (and NET_RAW for
 * iptables) instead of privileged, no hostPID, no API token, tolerating every taint. The host's
 * /run/hostnet holds the lock that keeps applies on a node one at a time, across pods.
 */
export class LinuxNodeAgent extends NodeAgent {
  public constructor(scope: Construct, id: string, props: LinuxNodeAgentProps) {
    const runScript = `#!/bin/sh
# cdk8s-hostnet: apply the policy at start, then every ${props.reapplySeconds}s to repair drift
# (a hand-made flush, a restarted CNI). A failed start crashes the pod, so it shows; a failed
# re-apply changes nothing and apply.sh says what is in force. SIGTERM waits for a running apply.
set -u
trap 'exit 0' TERM INT
sh ${SCRIPT_DIR}/apply.sh || exit 1
while :; do
  sleep ${props.reapplySeconds} &
  wait $!
  sh ${SCRIPT_DIR}/apply.sh || echo "hostnet: re-apply failed; retrying in ${props.reapplySeconds}s" >&2
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
          capabilities: { drop: ['ALL'], add: props.usesIptables ? ['NET_ADMIN', 'NET_RAW'] : ['NET_ADMIN'] },
        },
        volumeMounts: [
          { name: 'scripts', mountPath: SCRIPT_DIR, readOnly: true },
          { name: 'lock', mountPath: LOCK_DIR },
          // shared with kube-proxy, so legacy iptables writers never interleave
          ...(props.usesIptables ? [{ name: 'xtables-lock', mountPath: '/run/xtables.lock' }] : []),
        ],
      },
      extraVolumes: [
        { name: 'lock', hostPath: { path: LOCK_DIR, type: 'DirectoryOrCreate' } },
        ...(props.usesIptables ? [{ name: 'xtables-lock', hostPath: { path: '/run/xtables.lock', type: 'FileOrCreate' } }] : []),
      ],
    });
  }
}
