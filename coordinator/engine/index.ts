// The engine's public surface: what the coordinator's gRPC server, the CLI and the router
// (block hashes for prefix-aware routing) import. Everything else in this folder is internal.
export { Engine, type EngineOptions, type EngineStats } from './engine.ts';
export { ENGINE_DEFAULTS, resolveEngineConfig, type EngineConfig, type EngineConfigInput } from './config.ts';
export { EngineError, type EngineErrorCode } from './errors.ts';
export type { StepExecutor } from './executor.ts';
export type { Detokenizer, FinishReason } from './output-processor.ts';
export { chainBlockHash, prefixBlockHashes } from './block-hash.ts';
