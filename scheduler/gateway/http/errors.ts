// OpenAI's error shape for the HTTP API, in one place: `{"error": {"message", "type", "param", "code"}}` with its
// status. Parsers throw ApiError (a FieldError is a 400 naming the field in `param`); the server writes it; the
// frontend's rejection kinds map to statuses here once (429 carries Retry-After).
import type { Rejection, RejectionKind } from '../frontend.js';

export type ErrorType = 'invalid_request_error' | 'rate_limit_error' | 'server_error' | 'not_implemented_error';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly param: string | null = null,
    readonly code: string | null = null,
    readonly type: ErrorType = status >= 500 ? 'server_error' : 'invalid_request_error',
    /** Whole seconds for the Retry-After header (429, 503). */
    readonly retryAfterS?: number,
  ) {
    super(message);
  }

  body(): { error: { message: string; type: ErrorType; param: string | null; code: string | null } } {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

/** A bad request field: 400, `param` = the field (a JSON path such as `messages[2].content`, or a header name). */
export class FieldError extends ApiError {
  constructor(param: string, message: string, code: string | null = null) {
    super(400, `${param}: ${message}`, param, code);
  }
}

const STATUS_OF: Readonly<Record<RejectionKind, number>> = {
  invalid: 400,
  not_found: 404,
  conflict: 409,
  overloaded: 429,
  unavailable: 503,
  unimplemented: 501,
};

/** Retry-After in whole seconds, at least 1 (the header has no fractions; 0 would invite a busy loop). */
export function retryAfterHeaderS(retryAfterS: number | undefined): number {
  return Math.max(1, Math.ceil(Number.isFinite(retryAfterS) ? (retryAfterS as number) : 1));
}

/** A missing or refused API key: 401 in OpenAI's shape (the server adds `WWW-Authenticate: Bearer`). */
export function authError(message: string): ApiError {
  return new ApiError(401, message, null, 'invalid_api_key');
}

/** The frontend refused a request: its kind picks the status; `promptParam` names the prompt for context errors. */
export function rejectionError(r: Rejection, promptParam: string): ApiError {
  const status = STATUS_OF[r.kind];
  const message = `${r.code}: ${r.reason}`;
  if (r.kind === 'invalid') {
    const context = r.code === 'E_CONTEXT_TOO_LONG';
    return new ApiError(400, message, r.param ?? (context ? promptParam : null), r.apiCode ?? (context ? 'context_length_exceeded' : r.code));
  }
  if (r.kind === 'not_found') return new ApiError(404, message, 'model', 'model_not_found');
  if (r.kind === 'overloaded' || r.kind === 'unavailable') {
    const type = r.kind === 'overloaded' ? 'rate_limit_error' : 'server_error';
    return new ApiError(status, message, r.param ?? null, r.apiCode ?? r.code, type, retryAfterHeaderS(r.retryAfterS));
  }
  return new ApiError(status, message, null, r.code, r.kind === 'unimplemented' ? 'not_implemented_error' : 'invalid_request_error');
}
