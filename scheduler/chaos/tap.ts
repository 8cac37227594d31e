// The gateway's own view of every request, for the soak's accounting: a tap on the in-process gateway's Frontend
// (the one door the gRPC service, the HTTP API and the batch drainer all go through). Per request id it records
// how often it was started, a rejection, and every end its sink heard. The frontend promises one end per admitted
// request ("Exactly once", frontend.ts StreamSink); the soak checks that promise here, beside what the client saw.
import type { Finished, Frontend, Rejection } from '../gateway/frontend.js';

export interface TapEntry {
  id: string;
  starts: number;
  /** Starts the frontend admitted (each must end exactly once). */
  admitted: number;
  rejections: Rejection[];
  ends: Finished[];
}

export interface FrontendTap {
  readonly entries: ReadonlyMap<string, TapEntry>;
  /** Puts the frontend's own start back. */
  remove(): void;
}

export function tapFrontend(frontend: Frontend): FrontendTap {
  const entries = new Map<string, TapEntry>();
  const original = frontend.start;
  const target = frontend as { start: Frontend['start'] };
  target.start = function tapped(this: Frontend, parsed, sink) {
    const id = parsed.req.requestId;
    let e = entries.get(id);
    if (!e) entries.set(id, (e = { id, starts: 0, admitted: 0, rejections: [], ends: [] }));
    const entry = e;
    entry.starts++;
    // The sink may hear the end before start returns (frontend.ts): record through the wrapper, whenever.
    const res = original.call(this, parsed, {
      onTokens: (ids) => sink.onTokens(ids),
      onEnd: (f) => {
        entry.ends.push(f);
        sink.onEnd(f);
      },
    });
    if (res.ok) entry.admitted++;
    else entry.rejections.push(res.rejection);
    return res;
  };
  return {
    entries,
    remove() {
      delete (target as { start?: Frontend['start'] }).start;
    },
  };
}
