// `--cluster <preset|file>`: a preset name, or a YAML/JSON file holding a cluster mapping (see cluster.ts).
import { existsSync, readFileSync } from 'node:fs';

import { parse } from 'yaml';

import { ConfigError } from '../core/config/params.js';
import { readClusterConfig, type ClusterConfig } from './cluster.js';
import { NAMED_PRESETS, parsePresetName } from './presets.js';

/** A preset name or the path of a cluster file; errors name the field (`cluster.racks: ...`). */
export function loadClusterConfig(presetOrPath: string): ClusterConfig {
  if (parsePresetName(presetOrPath)) return readClusterConfig(presetOrPath, 'cluster');
  if (!existsSync(presetOrPath)) {
    throw new ConfigError('cluster', `${JSON.stringify(presetOrPath)} is neither a preset (${NAMED_PRESETS.join(', ')}, or <preset>x<N>) nor a file`);
  }
  let parsed: unknown;
  try {
    parsed = parse(readFileSync(presetOrPath, 'utf8'));
  } catch (error) {
    throw new ConfigError('cluster', `cannot parse ${presetOrPath} as YAML or JSON: ${(error as Error).message.split('\n')[0]}`);
  }
  return readClusterConfig(parsed, 'cluster');
}
