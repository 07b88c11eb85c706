import { App } from 'cdk8s';
import { buildApp } from './app/build-app';
import { loadClusterConfig } from './app/cluster-config';
import { ClusterProfiles } from './profiles/cluster-profiles';

// The synth app: the manifests of ONE cluster. CLUSTER_PROFILE picks the profile (default k2s),
// CLUSTER_CONFIG names an optional YAML file whose values override the profile's.
function synth(): void {
  const profile = ClusterProfiles.byName(process.env.CLUSTER_PROFILE ?? 'k2s');
  const configFile = process.env.CLUSTER_CONFIG;
  const config = configFile
    ? loadClusterConfig(configFile, profile)
    : { profile, exemptions: [], customResolvers: [] };
  const app = new App();
  buildApp(app, config);
  app.synth();
}

// A bad profile or override is the user's input, not our bug: print the message, not a stack.
// No process.exit(): when stderr is a pipe the write is asynchronous and exit would cut it off;
// with exitCode set, node exits 1 once the message is out.
try {
  synth();
} catch (error) {
  process.stderr.write(`cdk8s-hostnet: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}
