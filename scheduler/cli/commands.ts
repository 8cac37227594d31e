// The subcommand registry. Each command is a module with a `run(argv)` returning an exit code; it is imported
// lazily so that `nvlsched --help` does not load the native addon.
import { usageError } from './args.js';

interface Command {
  summary: string;
  load: () => Promise<{ run: (argv: string[]) => Promise<number> }>;
}

const COMMANDS: Record<string, Command> = {
  start: { summary: 'the main job on an embedded default (see README)', load: () => import('./start.js') },
  info: { summary: 'native addon, backend (CPU/CUDA), NCCL and topology presets', load: () => import('./info.js') },
  perf: {
    summary: 'performance model: `perf predict --gpu <h100|h200|b200|gb200|gb300>` (JSON lines), `perf calibrate`',
    load: () => import('./perf.js'),
  },
  simulate: {
    summary: 'a trace or mix in virtual time, report per shape: `simulate [--trace f] [--compare a,b] --json out.json`',
    load: () => import('./simulate.js'),
  },
  config: { summary: 'scheduler configuration: `config check <file.yaml>`, `config default`', load: () => import('./config.js') },
  worker: { summary: 'one compute tray\'s worker (gRPC step stream): `worker --port 0 --tray <n> [--model m]`', load: () => import('./worker.js') },
  serve: { summary: 'the gateway (gRPC Generate): `serve --grpc-port 0 --local-workers <n> [--cluster c] [--model m] [--policy p]`', load: () => import('./serve.js') },
  tune: { summary: 'policy search on the simulator: `tune [--rate-scale x] [--out best.yaml] [--json trials.json] [--redis redis://host:port]`', load: () => import('./tune.js') },
  batch: { summary: 'OpenAI-style batch jobs on Redis, drained by `serve --redis` gateways: `batch submit|status|cancel|results|wait|list ... --redis redis://host:port`', load: () => import('./batch.js') },
  'tune-worker': { summary: 'runs `tune --redis` trials from BullMQ: `tune-worker --redis redis://host:port [--concurrency n]`', load: () => import('./tune_worker.js') },
  deploy: { summary: 'Kubernetes: `deploy render [--config cluster.yaml]` (manifests on stdout), `deploy default`, `deploy probe|drain|discover` (pod hooks)', load: () => import('./deploy.js') },
  chaos: { summary: 'fault-injection soak: gateway + local workers + Redis under mixed load while a worker is killed, a stream cut, Redis restarted; every request accounted for once, KV back to baseline: `chaos [--duration-s 60] [--workers 4] [--seed 1] [--json out.json]`', load: () => import('./chaos.js') },
  keys: { summary: 'gateway API keys: `keys create --tenant t (--keys-file f | --redis url)`, `keys list`, `keys disable|enable <id>`', load: () => import('./keys.js') },
  bench: { summary: 'live load on a gateway: `bench --target host:port [--trace f] [--json out.json]`; micro-benchmarks: `bench kv|perf|sched|classify|overhead|evaluate [--json]`', load: () => import('../../bench/cli.js') },
};

function help(): string {
  const lines = Object.entries(COMMANDS).map(([name, cmd]) => `  ${name.padEnd(10)} ${cmd.summary}`);
  return `usage: nvlsched <command> [flags]\n\ncommands:\n${lines.join('\n')}\n`;
}

export async function runCli(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(help());
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (!command) throw usageError(`unknown command '${name}'; commands: ${Object.keys(COMMANDS).join(', ')}`);
  const module = await command.load();
  return module.run(rest);
}
