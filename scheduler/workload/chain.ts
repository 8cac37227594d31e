// Turning a trace's block ids into the simulation's chained block hashes.
//
// A trace names each block of a prompt by an id (Mooncake: 512 tokens, Claude Code: 64); the simulator wants
// chained hashes at its own KV block size. Ids are walked through a trie per hash space (namespace): a node is one
// distinct prefix, so equal prefixes reach the same node and each distinct block is hashed once, however many
// requests repeat it. Node hash = chainHash(parent node hash, namespaceKey ⊕ id).
//
// Simulation block b covers tokens [b·B, (b+1)·B). Its hash is derived from the trace block j holding its last token
// (the node of the prefix through block j) and that token's offset in block j: the node's own hash when the block
// ends exactly at j's end, else chainHash(node, offset). So B = T reuses the node hashes, B < T splits a trace block
// into T/B chained sub-blocks, and B > T (a multiple of T) merges them.
import { chainHash64, chainHashPair, namespaceKey, toBigInt, type Hash64 } from './hash.js';

export interface ChainNode extends Hash64 {
  /** True for nodes of a prefix shared across sessions (see sharedHashes in the readers). */
  readonly shared: boolean;
  big: bigint | undefined;
  /** Sub-block hashes when the simulation block divides the trace block (index = sub-block within the block). */
  sub: bigint[] | undefined;
  /** First child inline (most prefixes have one continuation), the rest in a map. */
  childId: number;
  child: ChainNode | undefined;
  more: Map<number, ChainNode> | undefined;
}

function makeNode(hash: Hash64, shared: boolean): ChainNode {
  return { hi: hash.hi, lo: hash.lo, shared, big: undefined, sub: undefined, childId: -1, child: undefined, more: undefined };
}

function bigOf(node: ChainNode): bigint {
  if (node.big === undefined) node.big = toBigInt(node);
  return node.big;
}

const ZERO: Hash64 = { hi: 0, lo: 0 };

/** One namespace's trie. Walks may start at the chain start or at a node of another space (a shared prefix). */
export class HashSpace {
  private readonly key: Hash64;
  private readonly root: ChainNode;
  private readonly roots = new Map<ChainNode, ChainNode>();
  /** Distinct blocks hashed in this space (a measure of the trace's unique KV). */
  nodes = 0;

  constructor(name: string, private readonly shared = false) {
    this.key = namespaceKey(name);
    this.root = makeNode(ZERO, shared);
  }

  /** Appends to `out` the nodes of ids[from, to) continuing after `parent` (undefined: the chain start). */
  walk(parent: ChainNode | undefined, ids: ArrayLike<number>, from: number, to: number, out: ChainNode[]): void {
    let node = parent === undefined ? this.root : this.rootAfter(parent);
    for (let i = from; i < to; i++) {
      node = this.step(node, ids[i] as number);
      out.push(node);
    }
  }

  private rootAfter(parent: ChainNode): ChainNode {
    let root = this.roots.get(parent);
    if (root === undefined) {
      root = makeNode(parent, this.shared);
      this.roots.set(parent, root);
    }
    return root;
  }

  private step(node: ChainNode, id: number): ChainNode {
    if (node.childId === id && node.child !== undefined) return node.child;
    const found = node.more?.get(id);
    if (found !== undefined) return found;
    const next = makeNode(chainHashPair(node, chainHash64(this.key, id)), this.shared);
    this.nodes++;
    if (node.child === undefined) {
      node.childId = id;
      node.child = next;
    } else {
      (node.more ??= new Map()).set(id, next);
    }
    return next;
  }
}

/** A prefix shared by every session (positions 0, 1, 2, ... in its own space), extended on demand. */
export class SharedPrefix {
  private readonly space: HashSpace;
  private readonly nodes: ChainNode[] = [];
  private readonly positions: number[] = [];

  constructor(name: string) {
    this.space = new HashSpace(name, true);
  }

  /** The nodes of its first `count` blocks (a shared array: do not mutate). */
  first(count: number): readonly ChainNode[] {
    if (count > this.nodes.length) {
      while (this.positions.length < count) this.positions.push(this.positions.length);
      const have = this.nodes.length;
      this.space.walk(this.nodes[have - 1], this.positions, have, count, this.nodes);
    }
    return count === this.nodes.length ? this.nodes : this.nodes.slice(0, count);
  }
}

/**
 * The simulation's block hashes for a prompt of `promptTokens` whose trace blocks (of traceBlockTokens each) reached
 * `nodes`. Only full simulation blocks get hashes, and only those whose last token lies in a trace block with an id.
 * Hashes derived from shared nodes are added to `shared` when given.
 */
export function simBlockHashes(
  nodes: readonly ChainNode[],
  promptTokens: number,
  traceBlockTokens: number,
  simBlockTokens: number,
  shared?: Set<bigint>,
): bigint[] {
  const limit = Math.min(Math.floor(promptTokens / simBlockTokens), Math.floor((nodes.length * traceBlockTokens) / simBlockTokens));
  const out = new Array<bigint>(limit);
  const split = traceBlockTokens % simBlockTokens === 0 ? traceBlockTokens / simBlockTokens : 0;
  for (let b = 0; b < limit; b++) {
    const lastToken = (b + 1) * simBlockTokens - 1;
    const node = nodes[Math.floor(lastToken / traceBlockTokens)] as ChainNode;
    const offset = lastToken % traceBlockTokens;
    let hash: bigint;
    if (offset === traceBlockTokens - 1) hash = bigOf(node);
    else if (split > 0) hash = subHash(node, (offset + 1) / simBlockTokens - 1, split, offset);
    else hash = toBigInt(chainHash64(node, offset)); // block sizes that do not divide: rare, uncached
    if (shared !== undefined && node.shared) shared.add(hash);
    out[b] = hash;
  }
  return out;
}

/** chainHash(node, offset) for sub-block `index` of the node's trace block, cached on the node. */
function subHash(node: ChainNode, index: number, split: number, offset: number): bigint {
  const sub = (node.sub ??= new Array<bigint>(split));
  let hash = sub[index];
  if (hash === undefined) {
    hash = toBigInt(chainHash64(node, offset));
    sub[index] = hash;
  }
  return hash;
}
