// The KV index: where prompt blocks are cached, per tier, from worker KV events. See README.md.
export { KvIndex, type ApplyResult, type KvIndexMember, type KvIndexOptions, type KvIndexStats } from './kv_index.js';
export { PrefixLookup } from './prefix_lookup.js';
export { makePrefixColumns, type PrefixColumns } from './prefix_walk.js';
export { HolderTable } from './holder_table.js';
export { U64Map } from './u64_map.js';
