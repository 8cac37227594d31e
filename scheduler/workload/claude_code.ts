// Claude Code sessions (kv-cache-tester / agentic-coding-analysis TRACE_FORMAT.md): one JSON document per session,
// replayed closed loop. Block ids (64 tokens) are unique within a session only, so each session hashes them in its
// own namespace — except the leading tools + system blocks, the prefix every Claude Code session shares: those map
// by position to one global namespace, as long as the request's leading ids equal the session's own first prompt
// (system prompts drift a little within a session; a drifted block and everything after it stays session-local).
// Sub-agents ("type": "subagent") run in a fresh cache context: a SessionScript of their own, namespaced per agent,
// whose leading tools + system blocks are shared with the same sub-agent type in other sessions.
import path from 'node:path';
import { type ChainNode, HashSpace, SharedPrefix, simBlockHashes } from './chain.js';
import { clampOutput, tagShape, TOOL_CALL_MAX_OUTPUT_TOKENS, type ReaderOptions } from './options.js';
import {
  asRecord,
  FieldError,
  idsField,
  intField,
  jsonErrorLine,
  optionalNumberField,
  type ProblemLog,
  type Rec,
} from './problems.js';
import type { SessionScript, WorkloadRequest } from './types.js';

/** Claude Code's default max_tokens for its main models; the trace records none (its longest output: 10,522). */
export const CLAUDE_CODE_MAX_OUTPUT_TOKENS = 32000;
const TENANT = 'claude-code';

/** Global prefixes and the set of hashes derived from them, shared by all sessions of one read. */
export class ClaudeCodeContext {
  readonly sharedHashes = new Set<bigint>();
  private readonly prefixes = new Map<string, SharedPrefix>();
  constructor(readonly opts: ReaderOptions, readonly log: ProblemLog) {}

  prefix(kind: string): SharedPrefix {
    let prefix = this.prefixes.get(kind);
    if (prefix === undefined) {
      prefix = new SharedPrefix(`claude-code:global:${kind}`);
      this.prefixes.set(kind, prefix);
    }
    return prefix;
  }
}

/** One cache context: a session or a sub-agent. */
interface Agent {
  sessionId: string;
  file: string;
  traceBlockTokens: number;
  toolTokens: number;
  prefix: SharedPrefix;
  /** Leading blocks that are tools + system. */
  prefixBlocks: number;
  /** The session's own first prompt's leading ids: blocks equal to these are the shared prefix. */
  canonical: readonly number[];
  space: HashSpace;
}

interface Previous {
  t: number | undefined;
  apiTimeS: number | undefined;
  stop: string | undefined;
}

/** The scripts of one session file: the session first, then its sub-agents. Empty when nothing was readable. */
export function readClaudeCodeSession(text: string, file: string, ctx: ClaudeCodeContext): SessionScript[] {
  let top: Rec;
  let entries: unknown[];
  let agent: Agent;
  try {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      ctx.log.report(file, jsonErrorLine(text, error), `not JSON (${(error as Error).message})`);
      return [];
    }
    top = asRecord(value, 'session');
    entries = requestsField(top, '');
    const id = typeof top.id === 'string' && top.id !== '' ? top.id : path.basename(file, '.json');
    agent = makeAgent(top, '', id, file, 'session', entries, ctx);
  } catch (error) {
    if (!(error instanceof FieldError)) throw error;
    ctx.log.report(file, 1, error.message);
    return [];
  }
  const scripts: SessionScript[] = [];
  buildScript(agent, entries, '', undefined, ctx, scripts);
  return scripts;
}

function requestsField(rec: Rec, at: string): unknown[] {
  const value = rec.requests;
  if (!Array.isArray(value)) throw new FieldError(`${at}requests: expected an array of requests`);
  return value;
}

function makeAgent(rec: Rec, at: string, sessionId: string, file: string, prefixKind: string, entries: unknown[], ctx: ClaudeCodeContext): Agent {
  const traceBlockTokens = intField(rec, 'block_size', at, 1);
  const systemTokens = rec.system_tokens === undefined ? 0 : intField(rec, 'system_tokens', at, 0);
  const toolTokens = rec.tool_tokens === undefined ? 0 : intField(rec, 'tool_tokens', at, 0);
  const prefixBlocks = Math.floor((systemTokens + toolTokens) / traceBlockTokens);
  return {
    sessionId,
    file,
    traceBlockTokens,
    toolTokens,
    prefix: ctx.prefix(prefixKind),
    prefixBlocks,
    canonical: canonicalIds(entries, prefixBlocks),
    space: new HashSpace(`claude-code:${sessionId}`),
  };
}

/** Leading ids of the first request that covers the whole tools + system prefix (else of the first request). */
function canonicalIds(entries: unknown[], prefixBlocks: number): number[] {
  let fallback: number[] | undefined;
  for (const entry of entries) {
    const ids = (entry as Rec | null)?.hash_ids;
    if ((entry as Rec | null)?.type === 'subagent' || !Array.isArray(ids)) continue;
    if (ids.length >= prefixBlocks) return ids.slice(0, prefixBlocks) as number[];
    fallback ??= ids as number[];
  }
  return fallback ?? [];
}

function buildScript(
  agent: Agent,
  entries: unknown[],
  at: string,
  parent: { sessionId: string; afterTurn: number; firstThinkS: number | undefined } | undefined,
  ctx: ClaudeCodeContext,
  scripts: SessionScript[],
): void {
  const script: SessionScript = { sessionId: agent.sessionId, tenant: TENANT, turns: [] };
  if (parent) script.parent = { sessionId: parent.sessionId, afterTurn: parent.afterTurn };
  const position = scripts.length;
  scripts.push(script);
  let previous: Previous | undefined;
  entries.forEach((entry, k) => {
    const where = `${at}requests[${k}].`;
    try {
      const rec = asRecord(entry, `${at}requests[${k}]`);
      if (rec.type === 'subagent') {
        spawnSubagent(rec, where, agent, script, previous, ctx, scripts);
        return;
      }
      const firstThinkS = script.turns.length === 0 ? parent?.firstThinkS : undefined;
      previous = addTurn(rec, where, agent, script, previous, firstThinkS, ctx);
    } catch (error) {
      if (!(error instanceof FieldError)) throw error;
      ctx.log.report(agent.file, 1, error.message);
    }
  });
  if (script.turns.length === 0) {
    ctx.log.report(agent.file, 1, `${at}requests: no readable request; ${parent ? 'sub-agent' : 'session'} ${agent.sessionId} skipped`);
    scripts.splice(position); // its sub-agents cannot start without it
  }
}

function spawnSubagent(rec: Rec, where: string, owner: Agent, script: SessionScript, previous: Previous | undefined, ctx: ClaudeCodeContext, scripts: SessionScript[]): void {
  const entries = requestsField(rec, where);
  const agentId = typeof rec.agent_id === 'string' && rec.agent_id !== '' ? rec.agent_id : `subagent-${scripts.length}`;
  const kind = typeof rec.subagent_type === 'string' && rec.subagent_type !== '' ? rec.subagent_type : 'unknown';
  const spawnT = optionalNumberField(rec, 't', where);
  const agent = makeAgent({ block_size: owner.traceBlockTokens, ...rec }, where, `${owner.sessionId}/${agentId}`, owner.file, `subagent:${kind}`, entries, ctx);
  // It starts when the parent's latest turn ends; its first gap is the time from that end to its spawn.
  const parentEnd = previous?.t !== undefined && previous.apiTimeS !== undefined ? previous.t + previous.apiTimeS : undefined;
  const firstThinkS = spawnT !== undefined && parentEnd !== undefined ? Math.max(0, spawnT - parentEnd) : undefined;
  buildScript(agent, entries, where, { sessionId: owner.sessionId, afterTurn: Math.max(0, script.turns.length - 1), firstThinkS }, ctx, scripts);
}

function addTurn(rec: Rec, where: string, agent: Agent, script: SessionScript, previous: Previous | undefined, firstThinkS: number | undefined, ctx: ClaudeCodeContext): Previous {
  const inputTokens = intField(rec, 'in', where, 1);
  const outputTokens = intField(rec, 'out', where, 0);
  const ids = idsField(rec, 'hash_ids', where);
  const maxIds = Math.ceil(inputTokens / agent.traceBlockTokens);
  if (ids.length > maxIds) throw new FieldError(`${where}hash_ids: ${ids.length} ids for in ${inputTokens} (at most ${maxIds} blocks of ${agent.traceBlockTokens})`);
  const t = optionalNumberField(rec, 't', where);
  const apiTimeS = optionalNumberField(rec, 'api_time', where);
  const thinkTime = optionalNumberField(rec, 'think_time', where);
  const stop = optionalString(rec, 'stop', where);
  const inputTypes = optionalStrings(rec, 'input_types', where);
  const hasToolResults = inputTypes !== undefined ? inputTypes.includes('tool_result') : previous?.stop === 'tool_use';
  const gapS = previous?.t !== undefined && previous.apiTimeS !== undefined && t !== undefined ? Math.max(0, t - previous.t - previous.apiTimeS) : 0;
  const thinkTimeS = firstThinkS ?? thinkTime ?? gapS;

  const maxOutputTokens = ctx.opts.maxOutputTokens ?? CLAUDE_CODE_MAX_OUTPUT_TOKENS;
  const turnIndex = script.turns.length;
  const request: WorkloadRequest = {
    req: {
      requestId: `${agent.sessionId}#${turnIndex}`,
      tenant: TENANT,
      arrivalS: 0, // set by the simulator when the turn is sent
      promptTokens: inputTokens,
      maxOutputTokens,
      maxOutputTokensFromClient: false, // the trace records no max_tokens: ours, not the client's
      blockHashes: blockHashes(agent, ids, inputTokens, ctx),
      hasTools: agent.toolTokens > 0,
      hasToolResults,
      sessionId: agent.sessionId,
      turnIndex,
    },
    outputTokens: clampOutput(outputTokens, maxOutputTokens),
  };
  tagShape(request, hasToolResults && outputTokens <= TOOL_CALL_MAX_OUTPUT_TOKENS ? 'tool_call' : 'terminal', ctx.opts);
  script.turns.push({ thinkTimeS, request });
  return { t, apiTimeS, stop };
}

/** Leading blocks equal to the session's canonical prefix come from the global prefix; the rest are local. */
function blockHashes(agent: Agent, ids: readonly number[], inputTokens: number, ctx: ClaudeCodeContext): bigint[] {
  const limit = Math.min(agent.prefixBlocks, agent.canonical.length, ids.length);
  let shared = 0;
  while (shared < limit && ids[shared] === agent.canonical[shared]) shared++;
  const nodes: ChainNode[] = agent.prefix.first(shared).slice(0, shared);
  agent.space.walk(nodes[shared - 1], ids, shared, ids.length, nodes);
  return simBlockHashes(nodes, inputTokens, agent.traceBlockTokens, ctx.opts.blockTokens, ctx.sharedHashes);
}

function optionalString(rec: Rec, key: string, where: string): string | undefined {
  const value = rec[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new FieldError(`${where}${key}: expected a string, got ${JSON.stringify(value)}`);
  return value;
}

function optionalStrings(rec: Rec, key: string, where: string): string[] | undefined {
  const value = rec[key];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw new FieldError(`${where}${key}: expected an array of strings`);
  return value as string[];
}

