// The multipart/form-data reader: what real clients send (quoted and RFC 5987 file names, a preamble, padding after
// a boundary, content holding CRLF and near-boundaries, binary bytes) comes back exactly, and every malformed body
// is a 400 whose message says what is wrong — never a crash, a hang or a wrong part.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ApiError } from './errors.js';
import { boundaryOf, headerParams, parseMultipart } from './multipart.js';

const B = '----nvl-test-boundary-7d1f';
const CT = `multipart/form-data; boundary=${B}`;

function body(parts: Array<{ headers: string[]; data: string | Buffer }>, o: { preamble?: string; close?: boolean } = {}): Buffer {
  const chunks: Buffer[] = [];
  if (o.preamble !== undefined) chunks.push(Buffer.from(`${o.preamble}\r\n`));
  for (const p of parts) {
    chunks.push(Buffer.from(`--${B}\r\n${p.headers.join('\r\n')}\r\n\r\n`));
    chunks.push(Buffer.isBuffer(p.data) ? p.data : Buffer.from(p.data));
    chunks.push(Buffer.from('\r\n'));
  }
  if (o.close !== false) chunks.push(Buffer.from(`--${B}--\r\n`));
  return Buffer.concat(chunks);
}

const rejects = (f: () => unknown, status: number, message: RegExp): void => {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof ApiError, String(e));
    assert.equal(e.status, status);
    assert.match(e.message, message);
    return true;
  });
};

test('an upload as clients send it: fields, quoted and RFC 5987 file names, content with CRLFs and near-boundaries', () => {
  // A delimiter is CRLF + "--" + boundary: the boundary mid-line, or a near miss after CRLF, is content.
  const tricky = `{"a": 1}\r\n--${B.slice(0, -1)}x\r\nx--${B}\n{"b": 2}\r\n`;
  const binary = Buffer.from([0, 255, 13, 10, 45, 45, 1, 2]);
  const parts = parseMultipart(CT, body([
    { headers: ['Content-Disposition: form-data; name="purpose"'], data: 'batch' },
    { headers: ['Content-Disposition: form-data; name="file"; filename="my \\"batch\\".jsonl"', 'Content-Type: application/jsonl'], data: tricky },
    { headers: ['content-disposition: form-data; name=raw; filename*=UTF-8\'\'na%C3%AFve.bin'], data: binary },
  ], { preamble: 'ignored preamble' }));
  assert.deepEqual(parts.map((p) => [p.name, p.filename, p.contentType]), [['purpose', undefined, undefined], ['file', 'my "batch".jsonl', 'application/jsonl'], ['raw', 'naïve.bin', undefined]]);
  assert.equal(parts[0]?.data.toString(), 'batch');
  assert.equal(parts[1]?.data.toString(), tricky);
  assert.deepEqual(parts[2]?.data, binary);
  // Padding after a boundary is allowed (RFC 2046 transport padding); a quoted boundary in the header too.
  const padded = Buffer.from(`--${B}  \r\nContent-Disposition: form-data; name="x"\r\n\r\nv\r\n--${B}--`);
  assert.equal(parseMultipart(`multipart/form-data; charset=utf-8; boundary="${B}"`, padded)[0]?.data.toString(), 'v');
  assert.equal(headerParams('form-data; name="a;b"; filename=c.txt').get('name'), 'a;b');
});

test('malformed bodies and headers are 400s that say what is wrong', () => {
  const disposition = 'Content-Disposition: form-data; name="file"; filename="f.jsonl"';
  rejects(() => boundaryOf('application/json'), 400, /content-type: expected multipart\/form-data/);
  rejects(() => boundaryOf(undefined), 400, /got "none"/);
  rejects(() => boundaryOf('multipart/form-data'), 400, /needs a boundary/);
  rejects(() => boundaryOf(`multipart/form-data; boundary=${'x'.repeat(71)}`), 400, /needs a boundary of 1 to 70/);
  rejects(() => parseMultipart(CT, Buffer.from('no boundary here at all')), 400, /no part starts with the boundary/);
  rejects(() => parseMultipart(CT, body([{ headers: [disposition], data: 'x' }], { close: false })), 400, /truncated upload/);
  rejects(() => parseMultipart(CT, Buffer.from(`--${B}\r\n${disposition}\r\n\r\nhalf a file`)), 400, /part 1 \(file\): the body ends without the closing boundary/);
  rejects(() => parseMultipart(CT, body([{ headers: ['Content-Type: text/plain'], data: 'x' }])), 400, /part 1 has no Content-Disposition/);
  rejects(() => parseMultipart(CT, body([{ headers: ['Content-Disposition: attachment; name="f"'], data: 'x' }])), 400, /must be form-data/);
  rejects(() => parseMultipart(CT, body([{ headers: ['Content-Disposition: form-data; filename="f"'], data: 'x' }])), 400, /has no name/);
  rejects(() => parseMultipart(CT, body([{ headers: ['no colon here'], data: 'x' }])), 400, /malformed header line/);
  rejects(() => parseMultipart(CT, Buffer.from(`--${B}\r\n${disposition}`)), 400, /headers do not end/);
  rejects(() => parseMultipart(CT, body([{ headers: [`X-Long: ${'a'.repeat(9000)}`, disposition], data: 'x' }])), 400, /headers longer than 8192 bytes/);
  rejects(() => parseMultipart(CT, body(Array.from({ length: 17 }, (_, i) => ({ headers: [`Content-Disposition: form-data; name="f${i}"`], data: 'x' })))), 400, /more than 16 parts/);
  rejects(() => parseMultipart(CT, Buffer.from(`--${B}garbage\r\n`)), 400, /not followed by CRLF/);
});
