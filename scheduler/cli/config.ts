// `nvlsched config check <file>`: validates a scheduler configuration (YAML) the way the gateway and the simulator
// will load it — every plugin is built once — and prints what it resolved to; a bad field exits 2 with one line
// naming it. `nvlsched config default`: prints the embedded default document to start from.
import { readFileSync } from 'node:fs';
import { usageError } from './args.js';
import { ConfigError } from '../core/config/params.js';
import { DEFAULT_SCHEDULER_CONFIG_YAML, loadSchedulerConfigText } from '../core/scheduler_config.js';

export async function run(argv: string[]): Promise<number> {
  const [sub, file, ...rest] = argv;
  if (sub === 'default' && file === undefined) {
    process.stdout.write(DEFAULT_SCHEDULER_CONFIG_YAML);
    return 0;
  }
  if (sub !== 'check' || file === undefined || rest.length > 0) throw usageError('usage: nvlsched config check <file.yaml> | nvlsched config default');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw usageError(`config: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  try {
    const config = loadSchedulerConfigText(text, file);
    const pools = config.pools.map((p) => `${p.name} (${p.kind}, ${p.model})`).join(', ');
    process.stdout.write(`ok: policy ${config.policyName}; pools: ${pools}\n`);
    return 0;
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`nvlsched config: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}
