// For the HTTP API's tests: the API served over a test rig's gateway (scheduler/gateway/testing.ts startRig), with
// the rig's model and context and the small block size, plus any extra served names and HTTP limits a test needs.
import { SMALL, type Rig } from '../../testing.js';
import { startHttpApi, type HttpLimits, type RunningHttpApi } from '../server.js';

export function httpApiOn(rig: Rig, o: { extraModels?: readonly string[]; limitsHttp?: Partial<HttpLimits> } = {}): Promise<RunningHttpApi> {
  const cluster = rig.gateway.topology.cluster;
  return startHttpApi({
    frontend: rig.gateway.frontend,
    limits: { maxContextTokens: cluster.model.maxContextTokens, blockTokens: SMALL.blockTokens },
    models: [cluster.model.name, ...(o.extraModels ?? [])],
    ...(o.limitsHttp ? { limitsHttp: o.limitsHttp } : {}),
  });
}
