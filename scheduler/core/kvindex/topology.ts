// Slots for the names the KV index meets: instances, workers (compute trays) and NVLink domains. Hot loops work
// on small integer slots in plain arrays; names are looked up once per request at the edge.

export class Topology {
  /** Instance slot → domain slot / worker slots / id (undefined for a freed slot). */
  readonly instDomain: number[] = [];
  readonly instWorkers: number[][] = [];
  readonly instIds: Array<string | undefined> = [];
  readonly workerIds: string[] = [];
  private readonly instSlots = new Map<string, number>();
  private readonly workerSlots = new Map<string, number>();
  private readonly domainSlots = new Map<string, number>();
  private readonly freeInstSlots: number[] = [];

  get instanceCapacity(): number {
    return this.instIds.length;
  }

  get workerCapacity(): number {
    return this.workerIds.length;
  }

  get domainCapacity(): number {
    return this.domainSlots.size;
  }

  instanceSlot(instanceId: string): number {
    return this.instSlots.get(instanceId) ?? -1;
  }

  workerSlot(workerId: string): number {
    return this.workerSlots.get(workerId) ?? -1;
  }

  /** The worker's slot, created on first sight (workers appear through events before any instance names them). */
  ensureWorker(workerId: string): number {
    let slot = this.workerSlots.get(workerId);
    if (slot === undefined) {
      slot = this.workerIds.length;
      this.workerIds.push(workerId);
      this.workerSlots.set(workerId, slot);
    }
    return slot;
  }

  addInstance(instanceId: string, domainId: string, workerSlots: number[]): number {
    let domain = this.domainSlots.get(domainId);
    if (domain === undefined) {
      domain = this.domainSlots.size;
      this.domainSlots.set(domainId, domain);
    }
    const slot = this.freeInstSlots.pop() ?? this.instIds.length;
    this.instDomain[slot] = domain;
    this.instWorkers[slot] = workerSlots;
    this.instIds[slot] = instanceId;
    this.instSlots.set(instanceId, slot);
    return slot;
  }

  removeInstance(slot: number): void {
    const id = this.instIds[slot];
    if (id === undefined) return;
    this.instSlots.delete(id);
    this.instIds[slot] = undefined;
    this.instWorkers[slot] = [];
    this.freeInstSlots.push(slot);
  }

  get instanceCount(): number {
    return this.instSlots.size;
  }
}
