import { k8s } from 'cdk8s-plus-28';
import { NodeTaint } from '../profiles/cluster-profile';

/** Tolerations for exactly these taints (a taint without a value is tolerated whatever its value). */
export function tolerationsFor(taints: NodeTaint[]): k8s.Toleration[] {
  return taints.map((t) => ({ key: t.key, operator: t.value === undefined ? 'Exists' : 'Equal', value: t.value, effect: t.effect }));
}
