// A batch as OpenAI's Batch API shows it (the `batch` object of GET /v1/batches/{id}), from the stored meta. The
// output and error files exist once the batch has ended (completed or cancelled) and hold at least one line; their
// ids name the batch (files.ts). Not enforced here: the completion window (`expires_at` is shown, a batch never
// expires), so `expired` never appears; `cancelling` neither (a cancel is immediate: unfinished lines get their
// cancelled result at once).
import { resultFileId } from './files.js';
import { statusOf, type BatchMeta, type BatchStatus } from './store.js';

export const COMPLETION_WINDOW = '24h';
const WINDOW_S = 24 * 3600;

export interface OpenAiBatch {
  id: string;
  object: 'batch';
  endpoint: string | null;
  errors: { object: 'list'; data: Array<{ code: string; message: string; param: string | null; line: number | null }> } | null;
  input_file_id: string;
  completion_window: string;
  status: BatchStatus;
  output_file_id: string | null;
  error_file_id: string | null;
  created_at: number;
  in_progress_at: number | null;
  expires_at: number;
  finalizing_at: number | null;
  completed_at: number | null;
  failed_at: number | null;
  expired_at: null;
  cancelling_at: number | null;
  cancelled_at: number | null;
  request_counts: { total: number; completed: number; failed: number; cancelled: number; in_progress: number };
  metadata: Record<string, string> | null;
}

/** Whether the batch has ended with results to read (its derived files exist). */
export function resultsFinal(m: BatchMeta): boolean {
  const s = statusOf(m);
  return s === 'completed' || s === 'cancelled';
}

export function openAiBatch(m: BatchMeta): OpenAiBatch {
  const status = statusOf(m);
  const final = resultsFinal(m);
  const done = m.completed + m.failed + m.cancelled;
  return {
    id: m.id,
    object: 'batch',
    endpoint: m.endpoint ?? null,
    errors: m.errors ? { object: 'list', data: m.errors } : null,
    input_file_id: m.inputFile,
    completion_window: m.completionWindow ?? COMPLETION_WINDOW,
    status,
    output_file_id: final && m.completed > 0 ? resultFileId(m.id, 'output') : null,
    error_file_id: final && m.failed + m.cancelled > 0 ? resultFileId(m.id, 'error') : null,
    created_at: m.createdAtS,
    in_progress_at: status === 'validating' || status === 'failed' ? null : m.createdAtS,
    expires_at: m.createdAtS + WINDOW_S,
    finalizing_at: status === 'completed' ? (m.finishedAtS ?? null) : null,
    completed_at: status === 'completed' ? (m.finishedAtS ?? null) : null,
    failed_at: status === 'failed' ? (m.finishedAtS ?? m.createdAtS) : null,
    expired_at: null,
    cancelling_at: m.cancelledAtS ?? null,
    cancelled_at: m.cancelledAtS ?? null,
    request_counts: { total: m.total, completed: m.completed, failed: m.failed, cancelled: m.cancelled, in_progress: m.total - done },
    metadata: m.metadata ?? null,
  };
}
