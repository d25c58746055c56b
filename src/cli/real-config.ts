import { builtInClusterConfig, loadClusterConfig, type ClusterConfig } from '../runtime/config.js';

/** The cluster a real-mode command works on: the -c file, or the built-in loopback cluster. */
export function clusterConfigFrom(file: string | undefined): ClusterConfig {
  return file === undefined ? builtInClusterConfig() : loadClusterConfig(file);
}
