// Text ↔ token ids for the client-facing APIs: prompt text → ids (their count is what the scheduler sizes KV and
// prefill by; their values feed the prefix-cache block hashes), and the workers' output ids → text.
//
// Backed by the `gpt-tokenizer` package's o200k_base encoding (OpenAI's GPT-4o BPE). The served models (Llama,
// DeepSeek, ...) have their own tokenizers, so token counts here are APPROXIMATE for them (same order: BPE with a
// large vocabulary); what matters to the scheduler is that equal text gives equal ids and that counts track length.
// Worker outputs are synthetic ids in [0, the model's vocabulary); decode maps each modulo this encoding's ordinary
// vocabulary, so any id decodes to some text — the words are meaningless, the byte/length behaviour is realistic.
import { encode as o200kEncode } from 'gpt-tokenizer/encoding/o200k_base';
import o200kRanks from 'gpt-tokenizer/bpeRanks/o200k_base';

export interface Tokenizer {
  readonly name: string;
  /** Ordinary (non-special) tokens: decode maps any id into [0, vocabSize). */
  readonly vocabSize: number;
  /**
   * Token ids of `text`. Special-token markers such as `<|endoftext|>` are encoded as plain text (a client cannot
   * inject control tokens). With `maxTokens`, stops once the count passes it (the result is then longer than
   * `maxTokens` but not complete): a caller that only needs to know "too long" does not pay for the whole text.
   */
  encode(text: string, maxTokens?: number): number[];
  /** Text of ids; never throws (ids outside the vocabulary wrap around, undecodable ones are skipped). */
  decode(ids: readonly number[]): string;
  /** A decoder for one stream of ids: a character split across two pushes comes out whole in the later one. */
  decodeStream(): TokenTextStream;
}

export interface TokenTextStream {
  push(ids: readonly number[]): string;
  /** The rest (an incomplete character at the end becomes U+FFFD). */
  end(): string;
}

/**
 * Longest run of whitespace, or of other characters, handed to the BPE in one piece. gpt-tokenizer's merge loop is
 * quadratic in a piece's length (measured here: 8,000 × "a" 74 ms, 100,000 × "a" 9.6 s), so a long unbroken run
 * (base64, a repeated character, indentation) is cut. Real words are far shorter; a cut changes only the tokens at it.
 */
const MAX_RUN_CHARS = 128;
/** Pieces are cut at whitespace once this long, so that `maxTokens` can stop early. */
const PIECE_CHARS = 4096;
const NO_SPECIALS = { disallowedSpecial: new Set<string>() };

const isWhitespace = (c: number): boolean => c === 32 || c === 9 || c === 10 || c === 13;
const isLowSurrogate = (c: number): boolean => c >= 0xdc00 && c <= 0xdfff;

/** The text cut into pieces the BPE handles in time linear in their total length. */
function* pieces(text: string): Generator<string> {
  let start = 0;
  let run = 0;
  let runIsSpace = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const space = isWhitespace(c);
    if (space !== runIsSpace) {
      runIsSpace = space;
      run = 0;
      // A long piece ends where a whitespace run starts (the BPE's own pre-split would cut there too).
      if (space && i - start >= PIECE_CHARS) {
        yield text.slice(start, i);
        start = i;
      }
    }
    // A run of one kind past MAX_RUN_CHARS is cut, never between the two halves of a surrogate pair.
    if (++run > MAX_RUN_CHARS && !isLowSurrogate(c)) {
      yield text.slice(start, i);
      start = i;
      run = 1;
    }
  }
  if (start < text.length) yield text.slice(start);
}

class O200kTokenizer implements Tokenizer {
  readonly name = 'o200k_base';
  readonly vocabSize: number;
  /** Bytes of each ordinary token decoded so far, by id (filled on first use of each id). */
  private readonly bytes = new Map<number, Uint8Array | null>();
  private readonly utf8 = new TextEncoder();

  constructor(private readonly ranks: ReadonlyArray<string | number[] | undefined>) {
    this.vocabSize = ranks.length;
  }

  encode(text: string, maxTokens = Infinity): number[] {
    const out: number[] = [];
    for (const piece of pieces(text)) {
      for (const id of o200kEncode(piece, NO_SPECIALS)) out.push(id);
      if (out.length > maxTokens) break;
    }
    return out;
  }

  decode(ids: readonly number[]): string {
    const s = this.decodeStream();
    return s.push(ids) + s.end();
  }

  decodeStream(): TokenTextStream {
    // Own TextDecoder per stream: gpt-tokenizer's decode shares one streaming decoder across all calls, so bytes of
    // one request's split character could leak into another's text.
    const dec = new TextDecoder('utf-8', { fatal: false });
    return {
      push: (ids) => dec.decode(this.idsToBytes(ids), { stream: true }),
      end: () => dec.decode(),
    };
  }

  private idsToBytes(ids: readonly number[]): Uint8Array {
    const n = this.vocabSize;
    const parts: Uint8Array[] = [];
    let total = 0;
    for (const id of ids) {
      if (!Number.isSafeInteger(id)) continue;
      const b = this.tokenBytes(((id % n) + n) % n);
      if (b === null) continue;
      parts.push(b);
      total += b.length;
    }
    const out = new Uint8Array(total);
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }

  /** null for a hole in the table (an id the encoding does not use). */
  private tokenBytes(id: number): Uint8Array | null {
    let b = this.bytes.get(id);
    if (b === undefined) {
      const r = this.ranks[id];
      b = typeof r === 'string' ? this.utf8.encode(r) : Array.isArray(r) ? Uint8Array.from(r) : null;
      this.bytes.set(id, b);
    }
    return b;
  }
}

let shared: Tokenizer | undefined;

/** The process-wide tokenizer (stateless apart from the decode cache, bounded by the vocabulary). */
export function defaultTokenizer(): Tokenizer {
  return (shared ??= new O200kTokenizer(o200kRanks));
}
