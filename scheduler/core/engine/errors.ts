// Misuse of the engine by its caller (a programming error, not a request's fault): a stable code and a message
// that names the field or the step.
export type EngineErrorCode = 'E_BAD_SEQ' | 'E_PLAN_OUTSTANDING' | 'E_NOT_OUTSTANDING' | 'E_STEP_MISMATCH' | 'E_BAD_CALL';

export class EngineError extends Error {
  constructor(readonly code: EngineErrorCode, message: string) {
    super(message);
    this.name = 'EngineError';
  }
}
