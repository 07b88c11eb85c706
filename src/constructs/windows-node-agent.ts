import { createHash } from 'crypto';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { METRICS_PORT_NAME } from './agent-pod-monitor';
import { NodeAgent } from './node-agent';
import { tolerationsFor } from './tolerations';
import { AgentOptions } from '../dialects/agent-options';
import { WINDOWS_AGENT_DIRS, WINDOWS_AGENT_FILES, WINDOWS_METRICS_READER, WINDOWS_POD_UID_ENV, renderWindowsAgent, renderWindowsReadiness } from '../dialects/windows-agent';
import { WindowsScripts } from '../dialects/windows-firewall';
import { NodeOs } from '../policy/node-os';
import { NodeTaint } from '../profiles/cluster-profile';

/** Mount path of the scripts; a HostProcess container finds it under $env:CONTAINER_SANDBOX_MOUNT_POINT. */
const SCRIPT_DIR = 'hostnet';
/** powershell.exe of the host, as the container and its readiness probe start it. */
const POWERSHELL = ['powershell.exe', '-NoLogo', '-NoProfile', '-NonInteractive'];

/** Props of the Windows agent that enforces a rendered policy on every Windows node. */
export interface WindowsNodeAgentProps {
  readonly name: string;
  readonly namespace: string;
  readonly image: string;
  /** The same value as `scripts().agent.reapplySeconds`, which run.ps1 takes. */
  readonly reapplySeconds: number;
  /** Labels the nodes must carry besides the OS label. */
  readonly nodeSelector?: Record<string, string>;
  readonly maxUnavailable: number;
  readonly minReadySeconds: number;
  readonly taints: NodeTaint[];
  /** How hostnet.prom leaves the node: a windows_exporter sidecar, or the directory of the user's windows_exporter. */
  readonly metrics: WindowsMetricsExport;
  /** Produces the scripts and the loop's settings at synth time, after every rule was added. */
  readonly scripts: () => { scripts: WindowsScripts; agent: Omit<AgentOptions, 'policyId'>; policyJson: string };
}

/** Where the Windows agent's hostnet.prom goes. */
export type WindowsMetricsExport =
  | { readonly kind: 'sidecar'; readonly image: string; readonly port: number }
  | { readonly kind: 'directory'; readonly directory: string };

/**
 * windows_exporter's command line: only the textfile collector, reading the agent's metrics directory
 * under ProgramData\cdk8s-hostnet (the same expression as run.ps1's), on the given port of the host.
 * @see https://github.com/prometheus-community/windows_exporter/blob/master/docs/collector.textfile.md
 */
export function windowsExporterCommand(port: number): string {
  return `${WINDOWS_AGENT_DIRS[0]}; & (Join-Path $env:CONTAINER_SANDBOX_MOUNT_POINT 'windows_exporter.exe') '--collectors.enabled=textfile' `
    + `('--collector.textfile.directories=' + (Join-Path $Node '${WINDOWS_AGENT_FILES.metrics}')) '--web.listen-address=:${port}'; exit $LASTEXITCODE`;
}

/**
 * apply.ps1 / remove.ps1 / run.ps1 in a HostProcess pod as NT AUTHORITY\SYSTEM on every Windows
 * node. powershell.exe comes from the host, so the image is the few-KB HostProcess base image.
 * No Linux-only securityContext field: the API server rejects them for pods with spec.os.name windows.
 * run.ps1 keeps this pod's frozen copy of the policy and its readiness under ProgramData\cdk8s-hostnet
 * on the host (a HostProcess container sees the host's file system), in a directory named after the
 * pod's uid, and the node's last good policy next to it; readiness is the loop's verdict.
 * @see https://kubernetes.io/docs/tasks/configure-pod-container/create-hostprocess-pod/
 */
export class WindowsNodeAgent extends NodeAgent {
  public constructor(scope: Construct, id: string, props: WindowsNodeAgentProps) {
    super(scope, id, {
      name: props.name,
      namespace: props.namespace,
      os: NodeOs.WINDOWS,
      nodeSelector: props.nodeSelector,
      maxUnavailable: props.maxUnavailable,
      minReadySeconds: props.minReadySeconds,
      files: () => {
        const { scripts, agent, policyJson } = props.scripts();
        const policyId = createHash('sha256').update(scripts.apply).update('\0').update(scripts.remove).digest('hex');
        const metrics = props.metrics.kind === 'sidecar' ? { metricsPort: props.metrics.port } : { metricsDirectory: props.metrics.directory };
        // policy.json: the compiled policy as data, for `cdk8s-hostnet explain/diff/test` (the agent ignores it)
        return { 'apply.ps1': scripts.apply, 'remove.ps1': scripts.remove, 'run.ps1': renderWindowsAgent({ ...agent, policyId, ...metrics }), 'policy.json': policyJson };
      },
      tolerations: tolerationsFor(props.taints),
      securityContext: { windowsOptions: { hostProcess: true, runAsUserName: 'NT AUTHORITY\\SYSTEM' } },
      container: {
        name: 'apply',
        image: props.image,
        imagePullPolicy: 'IfNotPresent',
        // -File cannot expand the sandbox path; `exit $LASTEXITCODE` hands run.ps1's failure to the pod
        command: [...POWERSHELL, '-ExecutionPolicy', 'Bypass', '-Command',
          `& (Join-Path $env:CONTAINER_SANDBOX_MOUNT_POINT '${SCRIPT_DIR}/run.ps1'); exit $LASTEXITCODE`],
        // run.ps1 keeps this pod's copy of the policy and its readiness in a directory named after the pod
        env: [{ name: WINDOWS_POD_UID_ENV, valueFrom: { fieldRef: { fieldPath: 'metadata.uid' } } }],
        resources: {
          requests: { cpu: k8s.Quantity.fromString('10m'), memory: k8s.Quantity.fromString('64Mi') },
          // run.ps1 with the NetSecurity module loaded (-State runs in it), an apply.ps1 in its own
          // powershell.exe and a readiness probe's powershell.exe can all run at once
          limits: { memory: k8s.Quantity.fromString('384Mi') },
        },
        // the loop's verdict: Ready once the policy passed its checks, otherwise the reason
        readinessProbe: {
          exec: { command: [...POWERSHELL, '-Command', renderWindowsReadiness(props.name)] },
          periodSeconds: 10,
          timeoutSeconds: 10,
          failureThreshold: 1,
        },
        volumeMounts: [{ name: 'scripts', mountPath: `/${SCRIPT_DIR}`, readOnly: true }],
      },
      // HostProcess containers see the host's file system: the exporter reads the agent's directory
      // directly, as LOCAL SERVICE, which run.ps1 lets read only that directory
      sidecars: props.metrics.kind !== 'sidecar' ? [] : [{
        name: 'metrics',
        image: props.metrics.image,
        imagePullPolicy: 'IfNotPresent',
        command: [...POWERSHELL, '-Command', windowsExporterCommand(props.metrics.port)],
        ports: [{ name: METRICS_PORT_NAME, containerPort: props.metrics.port, protocol: 'TCP' }],
        resources: {
          requests: { cpu: k8s.Quantity.fromString('5m'), memory: k8s.Quantity.fromString('32Mi') },
          limits: { memory: k8s.Quantity.fromString('128Mi') },
        },
        securityContext: { windowsOptions: { hostProcess: true, runAsUserName: WINDOWS_METRICS_READER.user } },
      }],
    });
  }
}
