// multipart/form-data (RFC 7578) for file uploads (POST /v1/files), on a body already read under a byte cap: the
// boundary from Content-Type, then parts of headers + content. Only what an upload needs: Content-Disposition's
// `name` and `filename` (quoted, token, or RFC 5987 `filename*=UTF-8''…`), the part's Content-Type. Every malformed
// input is a 400 naming what is wrong (`body: multipart: part 2 has no Content-Disposition header`), never a crash.
import { ApiError, FieldError } from './errors.js';

export interface Part {
  name: string;
  filename?: string;
  contentType?: string;
  data: Buffer;
}

export interface MultipartLimits {
  /** Parts at most (an upload has 2: purpose and file). */
  maxParts: number;
  /** Bytes of one part's header block at most. */
  maxHeaderBytes: number;
}

export const MULTIPART_LIMITS: Readonly<MultipartLimits> = { maxParts: 16, maxHeaderBytes: 8192 };

const CRLF = Buffer.from('\r\n');
const HEADER_END = Buffer.from('\r\n\r\n');
/** RFC 2046: 1 to 70 characters from this set (the space not last). */
const BOUNDARY = /^[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]$/;

function bad(message: string): ApiError {
  return new FieldError('body', `multipart: ${message}`);
}

/** `key=value` parameters after the first `;` of a header value (values quoted or not), keys lower-cased. */
export function headerParams(value: string): Map<string, string> {
  const out = new Map<string, string>();
  const re = /;\s*([^\s=;]+)\s*=\s*("((?:[^"\\]|\\.)*)"|[^;]*)/g;
  for (const m of value.matchAll(re)) {
    const key = (m[1] as string).toLowerCase();
    const raw = m[3] !== undefined ? m[3].replace(/\\(.)/g, '$1') : (m[2] as string).trim();
    if (!out.has(key)) out.set(key, raw);
  }
  return out;
}

/** The boundary of a `multipart/form-data` Content-Type; a 400 naming the header otherwise. */
export function boundaryOf(contentType: string | undefined): string {
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'multipart/form-data') {
    throw new FieldError('content-type', `expected multipart/form-data (a file upload), got ${JSON.stringify((contentType ?? '').slice(0, 80) || 'none')}`);
  }
  const boundary = headerParams(contentType as string).get('boundary');
  if (boundary === undefined || !BOUNDARY.test(boundary)) throw new FieldError('content-type', `multipart/form-data needs a boundary of 1 to 70 allowed characters, got ${JSON.stringify(boundary ?? 'none')}`);
  return boundary;
}

/** RFC 5987 ext-value (`UTF-8''na%C3%AFve.jsonl`); undefined when it is not one. */
function extValue(v: string): string | undefined {
  const m = /^([A-Za-z0-9!#$%&+^_`{}~-]+)'[^']*'(.*)$/.exec(v);
  if (!m || (m[1] as string).toLowerCase() !== 'utf-8') return undefined;
  try {
    return decodeURIComponent(m[2] as string);
  } catch {
    return undefined;
  }
}

function readPartHeaders(block: string, index: number): Omit<Part, 'data'> {
  let disposition: string | undefined;
  let contentType: string | undefined;
  for (const line of block.split('\r\n')) {
    if (line === '') continue;
    const colon = line.indexOf(':');
    if (colon <= 0) throw bad(`part ${index}: malformed header line ${JSON.stringify(line.slice(0, 60))}`);
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === 'content-disposition') disposition = value;
    else if (name === 'content-type') contentType = value;
  }
  if (disposition === undefined) throw bad(`part ${index} has no Content-Disposition header`);
  if (disposition.split(';')[0]?.trim().toLowerCase() !== 'form-data') throw bad(`part ${index}: Content-Disposition must be form-data, got ${JSON.stringify(disposition.slice(0, 60))}`);
  const params = headerParams(disposition);
  const name = params.get('name');
  if (name === undefined || name === '') throw bad(`part ${index}: Content-Disposition has no name`);
  const star = params.get('filename*');
  const filename = (star !== undefined ? extValue(star) : undefined) ?? params.get('filename');
  return { name, ...(filename !== undefined ? { filename } : {}), ...(contentType !== undefined ? { contentType } : {}) };
}

/** The parts of a multipart body, in order. */
export function parseMultipart(contentType: string | undefined, body: Buffer, limits: MultipartLimits = MULTIPART_LIMITS): Part[] {
  const boundary = boundaryOf(contentType);
  const dash = Buffer.from(`--${boundary}`);
  // The first delimiter starts the body or follows a preamble's CRLF.
  let at: number;
  if (body.subarray(0, dash.length).equals(dash)) at = dash.length;
  else {
    const i = body.indexOf(Buffer.concat([CRLF, dash]));
    if (i < 0) throw bad(`no part starts with the boundary ${JSON.stringify(boundary)} given in content-type`);
    at = i + CRLF.length + dash.length;
  }
  const delimiter = Buffer.concat([CRLF, dash]);
  const parts: Part[] = [];
  for (;;) {
    // After a delimiter: `--` closes the body; else optional padding (spaces, tabs) and CRLF start a part.
    if (body[at] === 0x2d && body[at + 1] === 0x2d) return parts;
    while (body[at] === 0x20 || body[at] === 0x09) at++;
    if (body[at] !== 0x0d || body[at + 1] !== 0x0a) {
      throw bad(at >= body.length ? 'the body ends without the closing boundary (truncated upload?)' : 'a boundary is not followed by CRLF');
    }
    at += 2;
    if (parts.length >= limits.maxParts) throw bad(`more than ${limits.maxParts} parts`);
    const index = parts.length + 1;
    // A part with no headers at all starts its content right away (its header block is empty).
    const headerEnd = body[at] === 0x0d && body[at + 1] === 0x0a ? at : body.indexOf(HEADER_END, at);
    if (headerEnd < 0 || headerEnd - at > limits.maxHeaderBytes) {
      throw bad(headerEnd < 0 ? `part ${index}: its headers do not end (no blank line)` : `part ${index}: headers longer than ${limits.maxHeaderBytes} bytes`);
    }
    const headers = readPartHeaders(body.subarray(at, headerEnd).toString('utf8'), index);
    const contentStart = headerEnd === at ? at + 2 : headerEnd + HEADER_END.length;
    const end = body.indexOf(delimiter, contentStart);
    if (end < 0) throw bad(`part ${index} (${headers.name}): the body ends without the closing boundary (truncated upload?)`);
    parts.push({ ...headers, data: body.subarray(contentStart, end) });
    at = end + delimiter.length;
  }
}
