// `shape-rules`: the request's shape from its features, first matching rule wins (README "Precedence").
//
//   1 hint            a valid x-nvlsched-shape hint                               → the hint
//   2 session_tool_results  a session id and tool results in the prompt: the agent loop's next step, whose
//                     answer is usually the next short tool call → `sessionToolResultsShape` (tool_call)
//   3 session_turn    a session id and turnIndex ≥ 1 (a user turn)                → terminal
//   4 session_long_prompt   a session id and promptTokens ≥ terminalMinPromptTokens → terminal
//   5 tool_results    tool results without a session (a stateless agent loop)     → tool_call
//   6 tools_small_max_tokens  tools offered and max_tokens ≤ toolCallMaxOutputTokens → tool_call
//   7 reasoning_effort  reasoning effort ≥ reasoningMinEffort                     → reasoning
//   8 large_max_tokens  max_tokens ≥ reasoningMinOutputTokens, unless the request set an effort below the minimum
//                       or max_tokens was not the client's (maxOutputTokensFromClient false)
//                                                                                 → reasoning
//   9 default                                                                     → chat
//
// Results are shared frozen objects: classifying allocates nothing.
import { asParams, onlyKeys, readEnum, readNumber } from '../config/params.js';
import { SHAPES, type ReasoningEffort, type ScheduleRequest, type Shape, type ShapeClassifier } from '../types.js';

export interface ShapeRulesParams {
  /** Tools offered and max_tokens at most this → tool_call (a caller that expects a short function call). */
  toolCallMaxOutputTokens: number;
  /** Reasoning effort at or above this → reasoning. */
  reasoningMinEffort: Exclude<ReasoningEffort, 'none'>;
  /** max_tokens at or above this → reasoning (only room for a long chain of thought needs it). */
  reasoningMinOutputTokens: number;
  /** A session's first turn with a prompt this long is terminal (a resumed or preloaded context); 0 turns it off. */
  terminalMinPromptTokens: number;
  /** Shape of a session turn that carries tool results (an agent step); 'terminal' treats it as any other turn. */
  sessionToolResultsShape: 'tool_call' | 'terminal';
}

export const SHAPE_RULES_DEFAULTS: Readonly<ShapeRulesParams> = {
  toolCallMaxOutputTokens: 1024,
  reasoningMinEffort: 'medium',
  reasoningMinOutputTokens: 16384,
  terminalMinPromptTokens: 32768,
  sessionToolResultsShape: 'tool_call',
};

const EFFORT_RANK: Readonly<Record<ReasoningEffort, number>> = { none: 0, low: 1, medium: 2, high: 3 };

type Result = Readonly<{ shape: Shape; reason: string }>;
const result = (shape: Shape, reason: string): Result => Object.freeze({ shape, reason });
const HINTS = Object.fromEntries(SHAPES.map((s) => [s, result(s, 'hint')])) as Record<Shape, Result>;
const SESSION_TURN = result('terminal', 'session_turn');
const SESSION_TOOL_RESULTS = {
  tool_call: result('tool_call', 'session_tool_results'),
  terminal: result('terminal', 'session_tool_results'),
} as const;
const SESSION_LONG_PROMPT = result('terminal', 'session_long_prompt');
const TOOL_RESULTS = result('tool_call', 'tool_results');
const TOOLS_SMALL_MAX = result('tool_call', 'tools_small_max_tokens');
const EFFORT = result('reasoning', 'reasoning_effort');
const LARGE_MAX = result('reasoning', 'large_max_tokens');
const DEFAULT = result('chat', 'default');

export function readShapeRulesParams(value: unknown, path: string): ShapeRulesParams {
  const p = asParams(value, path);
  onlyKeys(p, path, Object.keys(SHAPE_RULES_DEFAULTS));
  const d = SHAPE_RULES_DEFAULTS;
  return {
    toolCallMaxOutputTokens: readNumber(p, 'toolCallMaxOutputTokens', path, d.toolCallMaxOutputTokens, { min: 0, integer: true }),
    reasoningMinEffort: readEnum(p, 'reasoningMinEffort', path, ['low', 'medium', 'high'], d.reasoningMinEffort),
    reasoningMinOutputTokens: readNumber(p, 'reasoningMinOutputTokens', path, d.reasoningMinOutputTokens, { min: 1, integer: true }),
    terminalMinPromptTokens: readNumber(p, 'terminalMinPromptTokens', path, d.terminalMinPromptTokens, { min: 0, integer: true }),
    sessionToolResultsShape: readEnum(p, 'sessionToolResultsShape', path, ['tool_call', 'terminal'], d.sessionToolResultsShape),
  };
}

export function makeShapeRules(params: unknown, path: string): ShapeClassifier {
  const cfg = readShapeRulesParams(params, path);
  const minEffort = EFFORT_RANK[cfg.reasoningMinEffort];
  return {
    name: 'shape-rules',
    classify(req: ScheduleRequest): Result {
      const hint = req.hintShape;
      if (hint !== undefined && Object.hasOwn(HINTS, hint)) return HINTS[hint];
      // An empty session id is no session (ingress may pass '' for an absent header).
      if (req.sessionId) {
        if (req.hasToolResults) return SESSION_TOOL_RESULTS[cfg.sessionToolResultsShape];
        if ((req.turnIndex ?? 0) >= 1) return SESSION_TURN;
        if (cfg.terminalMinPromptTokens > 0 && req.promptTokens >= cfg.terminalMinPromptTokens) return SESSION_LONG_PROMPT;
      }
      if (req.hasToolResults) return TOOL_RESULTS;
      // max_tokens ≤ 0 or not a number means "unknown" (ingress fills the pool default): no max_tokens rule applies.
      // A default filled in for the client (maxOutputTokensFromClient false) says nothing either.
      const maxOut = req.maxOutputTokens > 0 && req.maxOutputTokensFromClient !== false ? req.maxOutputTokens : NaN;
      if (req.hasTools && maxOut <= cfg.toolCallMaxOutputTokens) return TOOLS_SMALL_MAX;
      // An effort outside the enum is ignored like an absent one (ingress should have refused it).
      const e = req.reasoningEffort;
      const effort = e !== undefined && Object.hasOwn(EFFORT_RANK, e) ? EFFORT_RANK[e] : undefined;
      if (effort !== undefined && effort >= minEffort) return EFFORT;
      if (effort === undefined && maxOut >= cfg.reasoningMinOutputTokens) return LARGE_MAX;
      return DEFAULT;
    },
  };
}
