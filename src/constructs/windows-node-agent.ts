import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { NodeAgent } from './node-agent';
import { tolerationsFor } from './tolerations';
import { AgentOptions } from '../dialects/agent-options';
import { WindowsScripts } from '../dialects/windows-firewall';
import { NodeOs } from '../policy/node-os';
import { NodeTaint } from '../profiles/cluster-profile';

/** Mount path of the scripts; a HostProcess container finds it under $env:CONTAINER_SANDBOX_MOUNT_POINT. */
const SCRIPT_DIR = 'hostnet';

/** Props of the Windows agent that enforces a rendered policy on every Windows node. */
export interface WindowsNodeAgentProps {
  readonly name: string;
  readonly namespace: string;
  readonly image: string;
  readonly reapplySeconds: number;
  readonly maxUnavailable: number;
  readonly minReadySeconds: number;
  readonly taints: NodeTaint[];
  /** Produces the scripts and the loop's settings at synth time, after every rule was added. */
  readonly scripts: () => { scripts: WindowsScripts; agent: Omit<AgentOptions, 'policyId'> };
}

/**
 * apply.ps1 / remove.ps1 / run.ps1 in a HostProcess pod as NT AUTHORITY\SYSTEM on every Windows
 * node. powershell.exe comes from the host, so the image is the few-KB HostProcess base image.
 * No Linux-only securityContext field: the API server rejects them for pods with spec.os.name windows.
 * @see https://kubernetes.io/docs/tasks/configure-pod-container/create-hostprocess-pod/
 */
export class WindowsNodeAgent extends NodeAgent {
  public constructor(scope: Construct, id: string, props: WindowsNodeAgentProps) {
    const runScript = `# cdk8s-hostnet: apply the policy at start, then every ${props.reapplySeconds}s to repair drift.
# A failed start ends the pod (so it shows); a failed re-apply keeps the previous rules and says so.
$apply = Join-Path $PSScriptRoot 'apply.ps1'
& powershell.exe -NoLogo -NoProfile -NonInteractive -ExecutionPolicy Bypass -File $apply
if ($LASTEXITCODE -ne 0) { exit 1 }
while ($true) {
  Start-Sleep -Seconds ${props.reapplySeconds}
  & powershell.exe -NoLogo -NoProfile -NonInteractive -ExecutionPolicy Bypass -File $apply
  if ($LASTEXITCODE -ne 0) { Write-Warning 'hostnet: re-apply failed; the previous rules stay in force' }
}
`;
    super(scope, id, {
      name: props.name,
      namespace: props.namespace,
      os: NodeOs.WINDOWS,
      maxUnavailable: props.maxUnavailable,
      minReadySeconds: props.minReadySeconds,
      files: () => {
        const { scripts } = props.scripts();
        return { 'apply.ps1': scripts.apply, 'remove.ps1': scripts.remove, 'run.ps1': runScript };
      },
      tolerations: tolerationsFor(props.taints),
      securityContext: { windowsOptions: { hostProcess: true, runAsUserName: 'NT AUTHORITY\\SYSTEM' } },
      container: {
        name: 'apply',
        image: props.image,
        imagePullPolicy: 'IfNotPresent',
        // -File cannot expand the sandbox path; `exit $LASTEXITCODE` hands run.ps1's failure to the pod
        command: ['powershell.exe', '-NoLogo', '-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-Command',
          `& (Join-Path $env:CONTAINER_SANDBOX_MOUNT_POINT '${SCRIPT_DIR}/run.ps1'); exit $LASTEXITCODE`],
        resources: {
          requests: { cpu: k8s.Quantity.fromString('10m'), memory: k8s.Quantity.fromString('64Mi') },
          limits: { memory: k8s.Quantity.fromString('256Mi') },
        },
        volumeMounts: [{ name: 'scripts', mountPath: `/${SCRIPT_DIR}`, readOnly: true }],
      },
    });
  }
}
