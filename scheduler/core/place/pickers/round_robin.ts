// round-robin: the i-th decision takes candidate i mod n, ignoring scores — as SGLang's and vLLM's router
// round_robin policies (a counter over the healthy workers). The counter is the picker's only state.
import { onlyKeys, type Params } from '../../config/params.js';
import type { PlacementPicker } from '../../types.js';

export function makeRoundRobinPicker(params: Params, path: string): PlacementPicker {
  onlyKeys(params, path, []);
  let counter = 0;
  return {
    name: 'round-robin',
    pick: (_ctx, candidates) => {
      const i = counter % candidates.length;
      counter = (counter + 1) % 1_000_000_007;
      return i;
    },
  };
}
