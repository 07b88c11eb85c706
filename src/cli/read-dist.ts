import { existsSync, readFileSync, readdirSync, statSync } from 'fs';
import { join } from 'path';
import { parseAllDocuments } from 'yaml';
import { UsageError } from './usage';
import { HostPolicy } from '../explain/host-policy';
import { policiesFromManifests } from '../explain/policies-from-manifests';

/** The policies of a synthesized dist/ folder (its *.k8s.yaml, or any *.yaml), or of one manifest file. */
export function readDist(dist: string): HostPolicy[] {
  if (!existsSync(dist)) throw new UsageError(`DIST ${JSON.stringify(dist)} does not exist: give the folder cdk8s synth wrote (dist/)`);
  const files = statSync(dist).isDirectory()
    ? readdirSync(dist).filter((f) => /\.ya?ml$/.test(f)).sort().map((f) => join(dist, f))
    : [dist];
  if (files.length === 0) throw new UsageError(`DIST ${JSON.stringify(dist)} holds no .yaml file: run cdk8s synth first`);
  const policies = files.flatMap((file) => {
    const objects = readYaml(file);
    try {
      return policiesFromManifests(objects, file);
    } catch (error) {
      throw new UsageError(error instanceof Error ? error.message : String(error));
    }
  });
  if (policies.length === 0) {
    throw new UsageError(`DIST ${JSON.stringify(dist)} holds no NodeFirewall policy (policy.json in a <name>-<os>-policy ConfigMap): synthesize it again with this version of cdk8s-hostnet`);
  }
  return policies;
}

/** Every document of a YAML file; a syntax error names the file and line. */
export function readYaml(file: string): any[] {
  const docs = parseAllDocuments(readFileSync(file, 'utf8'));
  const list = Array.isArray(docs) ? docs : [docs];
  const objects: any[] = [];
  for (const doc of list) {
    const error = doc.errors[0];
    if (error) throw new UsageError(`${file}: line ${error.linePos?.[0].line ?? '?'}: ${error.message.split('\n')[0]}`);
    objects.push(doc.toJS({ maxAliasCount: 100 }));
  }
  return objects;
}
