// The pure-TypeScript KV-cache manager (native/SPEC.md): import it from here.
export { ReferenceKvManager } from './manager.js';
