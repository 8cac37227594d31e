// Workloads for the simulator and benchmarks: trace readers (Mooncake, Azure, Claude Code, ServeGen) and synthetic
// mixes. Consumers meet them through ./types.ts.
export { readTrace, detectFormat, type ReadTraceResult } from './read_trace.js';
export { TRACE_FORMATS, TOOL_CALL_MAX_OUTPUT_TOKENS, type ReadTraceOptions, type TraceFormat } from './options.js';
export { TraceError, describeProblem } from './problems.js';
export { parseMix, sampleMix, readMix, type MixSpec, type MixOptions, type ShapeSpec, type SessionSpec, type ArrivalSpec } from './mix.js';
export { DEFAULT_MIX_YAML, defaultMix } from './default_mix.js';
export { REASONING_BURSTS_YAML, reasoningBurstsMix } from './reasoning_bursts.js';
export { freshSessionCopy, copySessionId, sharedHashesOf } from './sessions.js';
export { chainHash, fmix64, namespaceKey } from './hash.js';
export { MOONCAKE_MAX_OUTPUT_TOKENS } from './mooncake.js';
export { AZURE_MAX_OUTPUT_TOKENS } from './azure.js';
export { CLAUDE_CODE_MAX_OUTPUT_TOKENS } from './claude_code.js';
export { SERVEGEN_MAX_OUTPUT_TOKENS, SERVEGEN_DEFAULT_DURATION_S } from './servegen.js';
export type * from './types.js';
