// `nvlsched deploy`: Kubernetes deployment (scheduler/deploy/README.md, deploy/README.md).
//   render [--config f.yaml]  the manifests as multi-document YAML on stdout (default: one GB200 NVL72 rack)
//   default                   the built-in deployment config, to start a cluster.yaml from
//   probe --worker host:port  exit 0 when the worker's Health is SERVING (the worker pods' readiness probe)
//   drain --worker host:port | --gateway http://host:port [--timeout s] [--settle s]   the pods' preStop hooks
//   discover [--domain d]     the NVLink domain this machine is in (GPU fabric, node label, config), as JSON
// Bad input exits 2 with one line naming the field; a probe or drain that fails exits 1.
import { ConfigError } from '../core/config/params.js';
import type { ClientTls } from '../rpc/tls.js';
import { flagHelp, parseFlags, usageError, type FlagSpec } from './args.js';

const SUBCOMMANDS = ['render', 'default', 'probe', 'drain', 'discover'];

const FLAGS: Record<string, Record<string, FlagSpec>> = {
  render: { config: { type: 'string', help: 'deployment config: the serve --config document plus a `deploy` section (default: the built-in one)' }, help: { type: 'boolean', help: 'this text' } },
  default: { help: { type: 'boolean', help: 'this text' } },
  probe: {
    worker: { type: 'string', help: 'the worker\'s gRPC address, host:port (required)' },
    timeout: { type: 'number', help: 'seconds to wait for the answer (default 3)' },
    'tls-ca': { type: 'string', help: 'worker: PEM CA of the worker\'s certificate (its port speaks TLS)' },
    'tls-cert': { type: 'string', help: 'worker: PEM client certificate (the worker has --tls-client-ca)' },
    'tls-key': { type: 'string', help: 'worker: PEM private key of --tls-cert' },
    'tls-server-name': { type: 'string', help: 'worker: name to check its certificate against instead of the host' },
    help: { type: 'boolean', help: 'this text' },
  },
  drain: {
    worker: { type: 'string', help: 'a worker\'s gRPC address, host:port: Drain it and wait' },
    gateway: { type: 'string', help: 'a gateway\'s HTTP API, http://host:port: wait until no request is live' },
    timeout: { type: 'number', help: 'seconds in all (default 60)' },
    settle: { type: 'number', help: 'gateway: seconds to wait before looking, while the endpoint is removed (default 5)' },
    'tls-ca': { type: 'string', help: 'worker: PEM CA of the worker\'s certificate (its port speaks TLS)' },
    'tls-cert': { type: 'string', help: 'worker: PEM client certificate (the worker has --tls-client-ca)' },
    'tls-key': { type: 'string', help: 'worker: PEM private key of --tls-cert' },
    'tls-server-name': { type: 'string', help: 'worker: name to check its certificate against instead of the host' },
    help: { type: 'boolean', help: 'this text' },
  },
  discover: { domain: { type: 'string', help: 'the config\'s domain, the last resort (default $NVLSCHED_DOMAIN, else rack0)' }, help: { type: 'boolean', help: 'this text' } },
};

const say = (line: string): void => void process.stderr.write(`nvlsched deploy: ${line}\n`);

function seconds(value: unknown, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !(value >= 0) || value > 3600) throw usageError(`--${flag}: expected seconds in [0, 3600], got ${String(value)}`);
  return value;
}

function hostPort(value: unknown, flag: string): string {
  if (typeof value !== 'string' || !/^[^\s:/]+:[0-9]{1,5}$/.test(value)) throw usageError(`--${flag}: expected host:port, got ${JSON.stringify(value)}`);
  return value;
}

/** The worker's TLS from --tls-ca/--tls-cert/--tls-key/--tls-server-name (none: plaintext); bad files exit 2. */
async function workerTls(flags: Record<string, unknown>): Promise<ClientTls | null> {
  const { readClientTls } = await import('../rpc/tls.js');
  try {
    const str = (f: string): string | undefined => flags[f] as string | undefined;
    return readClientTls({ ca: str('tls-ca'), cert: str('tls-cert'), key: str('tls-key'), serverName: str('tls-server-name') },
      { ca: '--tls-ca', cert: '--tls-cert', key: '--tls-key', serverName: '--tls-server-name' });
  } catch (error) {
    if (error instanceof ConfigError) throw usageError(error.message);
    throw error;
  }
}

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === 'help') {
    process.stdout.write(`usage: nvlsched deploy <${SUBCOMMANDS.join('|')}> [flags]\n`);
    return sub === undefined ? 2 : 0;
  }
  const specs = FLAGS[sub];
  if (!specs) throw usageError(`deploy: unknown subcommand '${sub}'; known: ${SUBCOMMANDS.join(', ')}`);
  const { flags, rest: extra } = parseFlags(rest, specs);
  if (flags.help) {
    process.stdout.write(`usage: nvlsched deploy ${sub} [flags]\n\n${flagHelp(specs)}\n`);
    return 0;
  }
  if (extra.length > 0) throw usageError(`deploy ${sub}: unexpected argument '${extra[0]}'`);
  if (sub === 'render') return render(flags.config as string | undefined);
  if (sub === 'default') {
    process.stdout.write((await import('../deploy/plan.js')).DEFAULT_DEPLOY_CONFIG_YAML);
    return 0;
  }
  if (sub === 'probe') return probe(hostPort(flags.worker, 'worker'), seconds(flags.timeout, 'timeout', 3), await workerTls(flags));
  if (sub === 'drain') return drain(flags);
  return discover(flags.domain as string | undefined);
}

async function render(config: string | undefined): Promise<number> {
  const { defaultPlan, planFromFile } = await import('../deploy/plan.js');
  const { renderYaml } = await import('../deploy/render.js');
  let yaml: string;
  try {
    yaml = renderYaml(config === undefined ? defaultPlan() : planFromFile(config));
  } catch (error) {
    if (error instanceof ConfigError) throw usageError(error.message);
    throw error;
  }
  process.stdout.write(yaml);
  return 0;
}

async function probe(address: string, timeoutS: number, tls: ClientTls | null): Promise<number> {
  const { probeWorker } = await import('../deploy/health.js');
  try {
    const h = await probeWorker(address, timeoutS * 1000, tls);
    if (h.serving) return 0;
    say(`worker ${address} is ${h.status}: ${h.detail}`);
  } catch (error) {
    say((error as Error).message);
  }
  return 1;
}

async function drain(flags: Record<string, unknown>): Promise<number> {
  if ((flags.worker === undefined) === (flags.gateway === undefined)) throw usageError('deploy drain: give --worker host:port or --gateway http://host:port (one of them)');
  const timeoutS = seconds(flags.timeout, 'timeout', 60);
  const { drainGateway, drainWorker } = await import('../deploy/health.js');
  try {
    if (flags.worker !== undefined) {
      const address = hostPort(flags.worker, 'worker');
      const running = await drainWorker(address, timeoutS, await workerTls(flags));
      say(running === 0 ? `worker ${address} drained` : `worker ${address}: ${running} sequences still running after ${timeoutS} s`);
      return running === 0 ? 0 : 1;
    }
    const url = flags.gateway;
    if (typeof url !== 'string' || !/^https?:\/\/[^\s/]+(:[0-9]+)?\/?$/.test(url)) throw usageError(`--gateway: expected http://host:port, got ${JSON.stringify(url)}`);
    const r = await drainGateway({ url, settleS: seconds(flags.settle, 'settle', 5), timeoutS });
    say(r.idle ? `gateway ${url} has no live requests` : `gateway ${url}: ${r.liveRequests} requests still live after ${timeoutS} s`);
    return r.idle ? 0 : 1;
  } catch (error) {
    if ((error as { code?: string }).code === 'E_USAGE') throw error;
    say((error as Error).message);
    return 1;
  }
}

async function discover(domain: string | undefined): Promise<number> {
  const { discoverDomain } = await import('../deploy/discovery.js');
  const configDomain = domain ?? process.env.NVLSCHED_DOMAIN ?? 'rack0';
  if (configDomain === '') throw usageError('--domain: expected a non-empty domain name');
  process.stdout.write(`${JSON.stringify(await discoverDomain({ configDomain }))}\n`);
  return 0;
}
