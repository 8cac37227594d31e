// The two baselines. `always-keep` pins every idle session's KV in HBM (Dynamo/SGLang session_control without its
// idle timeout); `drop` is vLLM: a finished request's blocks return to the free queue at once and its prefix
// survives only until the blocks are reused, which for an idle gap of seconds under load is the same as dropping.
import { asParams, onlyKeys } from '../../config/params.js';
import type { RetentionPolicy } from '../../types.js';

export function makeAlwaysKeep(params: unknown, path: string): RetentionPolicy {
  onlyKeys(asParams(params, path), path, []);
  return {
    name: 'always-keep',
    decide: () => ({ action: 'keep', reason: 'always-keep: idle KV stays in HBM' }),
    promoteLeadS: () => 0,
  };
}

export function makeDrop(params: unknown, path: string): RetentionPolicy {
  onlyKeys(asParams(params, path), path, []);
  return {
    name: 'drop',
    decide: () => ({ action: 'drop', reason: 'drop: blocks freed at turn end (vLLM)' }),
    promoteLeadS: () => 0,
  };
}
