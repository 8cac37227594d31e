// The flag vocabularies the deploy renderer relies on: serve's own table (the `serve` section of a deployment
// config is validated with it, by the reader serve uses, scheduler/cli/serve_config.ts), the serve flag the rendered
// gateway needs that serve does not have yet, and the worker flags the rendered worker args use.
// serve_flags.test.ts checks the rendered args against `nvlsched serve`'s and `nvlsched worker`'s real flags.
import { FLAGS } from '../cli/serve.js';
import type { FlagSpec } from '../cli/args.js';

export const SERVE_FLAGS: Readonly<Record<string, FlagSpec>> = FLAGS;

/** Flags the rendered gateway args use that serve does not have yet (none now: serve took `--workers`). */
export const PROPOSED_SERVE_FLAGS: readonly string[] = [];

/** worker's flags (scheduler/cli/worker.ts) that the rendered worker args use. */
export const WORKER_FLAGS_USED: readonly string[] = [
  'host', 'port', 'metrics-port', 'topology', 'tray', 'model', 'tensor-parallel', 'backend', 'pace', 'seed', 'kv-blocks',
  'block-tokens', 'drain-timeout',
];
