// A capped map that forgets its least recently written key: bounds per-session and per-tenant state however many
// sessions a gateway sees. A JS Map keeps insertion order, so "touch" is delete + set and the oldest key is the first.

export interface LruMap<V> {
  readonly cap: number;
  readonly map: Map<string, V>;
}

export function makeLru<V>(cap: number): LruMap<V> {
  return { cap, map: new Map() };
}

/** The value for key without changing its recency (predictions read; only observations count as activity). */
export function lruPeek<V>(lru: LruMap<V>, key: string): V | undefined {
  return lru.map.get(key);
}

/**
 * The value for key, moved to the most recent end. If absent it is made by make(evicted): at the cap the oldest
 * entry is evicted first and its value handed to make, so storage (e.g. a slab slot) can be reused.
 */
export function lruTouch<V>(lru: LruMap<V>, key: string, make: (evicted: V | undefined) => V): V {
  let value = lru.map.get(key);
  if (value !== undefined) {
    lru.map.delete(key);
  } else {
    let evicted: V | undefined;
    if (lru.map.size >= lru.cap) {
      const oldest = lru.map.entries().next();
      if (!oldest.done) {
        lru.map.delete(oldest.value[0]);
        evicted = oldest.value[1];
      }
    }
    value = make(evicted);
  }
  lru.map.set(key, value);
  return value;
}
