// Everything the reference manager owns, built from a resolved config. Pools sit in location order (SPEC §2): device
// pools by GPU, then host pools by tray, then disk pools by tray; stats and snapshots walk them in that order.
import { kvError } from '../errors.js';
import type { ResolvedKvConfig } from '../sizing.js';
import { LINK_KINDS, type LinkKind, type Location } from '../types.js';
import { EventLog } from './events.js';
import { BlockPool } from './pool.js';
import { SequenceTable } from './sequences.js';

export class KvState {
  readonly events: EventLog;
  readonly pools: BlockPool[] = [];
  readonly sequences = new SequenceTable();
  readonly bytesMovedByLink = Object.fromEntries(LINK_KINDS.map((k) => [k, 0])) as Record<LinkKind, number>;
  transfers = 0;

  constructor(readonly config: ResolvedKvConfig) {
    this.events = new EventLog(config.eventLogCapacity);
    const blockBytes = config.dataMode === 'bytes' ? config.blockBytes : undefined;
    const add = (tier: Location['tier'], count: number, blocks: number) => {
      for (let index = 0; index < count; index++) {
        this.pools.push(new BlockPool({ tier, index }, blocks, this.events, blockBytes));
      }
    };
    try {
      add('device', config.numGpus, config.deviceBlocksPerGpu);
      add('host', config.numTrays, config.hostBlocksPerTray);
      add('disk', config.numTrays, config.diskBlocksPerTray);
    } catch (err) {
      // maxRealBytes already bounds the total; this catches a single pool beyond what one ArrayBuffer can hold.
      if (err instanceof RangeError) throw kvError('E_TOO_LARGE', `dataMode 'bytes': cannot allocate a pool (${err.message})`);
      throw err;
    }
  }

  pool(location: Location): BlockPool {
    const { numGpus, numTrays } = this.config;
    const offset = location.tier === 'device' ? 0 : location.tier === 'host' ? numGpus : numGpus + numTrays;
    return this.pools[offset + location.index]!;
  }

  devicePool(gpu: number): BlockPool {
    return this.pools[gpu]!;
  }

  trayOfGpu(gpu: number): number {
    return Math.floor(gpu / this.config.topology.gpusPerTray);
  }

  domainOfGpu(gpu: number): number {
    const { gpusPerTray, traysPerDomain } = this.config.topology;
    return Math.floor(gpu / (gpusPerTray * traysPerDomain));
  }
}
