// Mooncake JSONL (FAST'25 trace release): {"timestamp": ms, "input_length", "output_length", "hash_ids"}, one request
// a line, open loop. Hash id i names tokens [512·i, 512·(i+1)) and its prefix (equal ids at equal positions = shared
// prefix; the last id may cover a partial block). No session ids: a request whose ids extend an earlier request's
// full-block ids is taken as that conversation's next turn (inferSessions).
import path from 'node:path';
import { type ChainNode, HashSpace, simBlockHashes } from './chain.js';
import { clampOutput, openWorkload, tagShape, type ReaderOptions } from './options.js';
import { asRecord, FieldError, idsField, intField, numberField, type ProblemLog } from './problems.js';
import type { OpenLoopWorkload, WorkloadRequest } from './types.js';

export const MOONCAKE_BLOCK_TOKENS = 512;
/** Kimi chat requests; the trace has no max_tokens (its longest output is 893 tokens). */
export const MOONCAKE_MAX_OUTPUT_TOKENS = 4096;

interface Line {
  timestampMs: number;
  inputTokens: number;
  outputTokens: number;
  ids: number[];
}

function parseLine(text: string): Line {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new FieldError(`not JSON (${(error as Error).message})`);
  }
  const rec = asRecord(value, 'line');
  const line = {
    timestampMs: numberField(rec, 'timestamp', ''),
    inputTokens: intField(rec, 'input_length', '', 1),
    outputTokens: intField(rec, 'output_length', '', 0),
    ids: idsField(rec, 'hash_ids', ''),
  };
  const maxIds = Math.ceil(line.inputTokens / MOONCAKE_BLOCK_TOKENS);
  if (line.ids.length > maxIds) {
    throw new FieldError(`hash_ids: ${line.ids.length} ids for input_length ${line.inputTokens} (at most ${maxIds} blocks of ${MOONCAKE_BLOCK_TOKENS})`);
  }
  return line;
}

/** A conversation inferred so far, and the request that last extended it. */
interface Conversation {
  id: number;
  turns: WorkloadRequest[];
}

interface Ending {
  conversation: Conversation;
  inputTokens: number;
  /** A later request already continued from here (a second continuation is a fork: a new conversation). */
  continued: boolean;
}

export function readMooncake(text: string, file: string, opts: ReaderOptions, log: ProblemLog): OpenLoopWorkload {
  const space = new HashSpace(`mooncake:${path.basename(file)}`);
  const endings = new Map<ChainNode, Ending>();
  const conversations: Conversation[] = [];
  const requests: WorkloadRequest[] = [];
  const maxOutputTokens = opts.maxOutputTokens ?? MOONCAKE_MAX_OUTPUT_TOKENS;
  let firstMs: number | undefined;
  let lastMs = -Infinity;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length && requests.length < opts.maxRequests; i++) {
    const raw = (lines[i] as string).trim();
    if (raw === '') continue;
    let line: Line;
    try {
      line = parseLine(raw);
      if (line.timestampMs < lastMs) throw new FieldError(`timestamp: ${line.timestampMs} ms is before the previous line's ${lastMs} ms`);
    } catch (error) {
      if (!(error instanceof FieldError)) throw error;
      log.report(file, i + 1, error.message);
      continue;
    }
    firstMs ??= line.timestampMs;
    const arrivalS = (line.timestampMs - firstMs) / 1000 / opts.rateScale;
    if (opts.durationS !== undefined && arrivalS >= opts.durationS) break;
    lastMs = line.timestampMs;
    const nodes: ChainNode[] = [];
    space.walk(undefined, line.ids, 0, line.ids.length, nodes);
    const request = toRequest(line, nodes, requests.length, arrivalS, maxOutputTokens, opts);
    requests.push(request);
    if (opts.inferSessions) joinConversation(line, nodes, request, endings, conversations);
  }
  for (const conversation of conversations) labelTurns(conversation);
  return openWorkload(path.basename(file), requests, opts.durationS);
}

function toRequest(line: Line, nodes: ChainNode[], index: number, arrivalS: number, maxOutputTokens: number, opts: ReaderOptions): WorkloadRequest {
  return tagShape(
    {
      req: {
        requestId: `mooncake-${index}`,
        tenant: 'mooncake',
        arrivalS,
        promptTokens: line.inputTokens,
        maxOutputTokens,
        maxOutputTokensFromClient: false, // the trace records no max_tokens: ours, not the client's
        blockHashes: simBlockHashes(nodes, line.inputTokens, MOONCAKE_BLOCK_TOKENS, opts.blockTokens),
        hasTools: false,
        hasToolResults: false,
      },
      outputTokens: clampOutput(line.outputTokens, maxOutputTokens),
    },
    'chat',
    opts,
  );
}

/**
 * Finds the deepest earlier request whose full-block ids are a proper prefix of this one's ids (and whose prompt
 * is shorter): this request continues its conversation, unless another request already did (then it forks a new
 * one). Then registers this request's own full-block prefix as a place later turns may continue from.
 */
function joinConversation(line: Line, nodes: ChainNode[], request: WorkloadRequest, endings: Map<ChainNode, Ending>, conversations: Conversation[]): void {
  let conversation: Conversation | undefined;
  for (let depth = nodes.length - 1; depth >= 1; depth--) {
    const ending = endings.get(nodes[depth - 1] as ChainNode);
    if (ending === undefined) continue;
    if (!ending.continued && ending.inputTokens < line.inputTokens) {
      ending.continued = true;
      conversation = ending.conversation;
    }
    break;
  }
  if (conversation === undefined) {
    conversation = { id: conversations.length, turns: [] };
    conversations.push(conversation);
  }
  conversation.turns.push(request);
  const fullBlocks = Math.floor(line.inputTokens / MOONCAKE_BLOCK_TOKENS);
  if (fullBlocks >= 1 && fullBlocks <= nodes.length) {
    endings.set(nodes[fullBlocks - 1] as ChainNode, { conversation, inputTokens: line.inputTokens, continued: false });
  }
}

/** Only conversations of two or more turns get a session id: a lone request is not a session. */
function labelTurns(conversation: Conversation): void {
  if (conversation.turns.length < 2) return;
  conversation.turns.forEach((turn, k) => {
    turn.req.sessionId = `mooncake-s${conversation.id}`;
    turn.req.turnIndex = k;
  });
}
