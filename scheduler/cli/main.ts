#!/usr/bin/env node
// nvlsched: one CLI, subcommands registered in commands.ts. Exit codes: 0 ok, 1 failure, 2 bad usage (with a
// one-line reason on stderr).
import { runCli } from './commands.js';

runCli(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const err = error as Error & { code?: string };
    process.stderr.write(`nvlsched: ${err.code ? `${err.code}: ` : ''}${err.message}\n`);
    process.exitCode = err.code === 'E_USAGE' || err.code === 'E_INVALID_ARGUMENT' ? 2 : 1;
  },
);
