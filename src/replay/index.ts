/**
 * The read side: the host at any moment of the log, explanations, timelines, diffs,
 * re-deciding every request, tamper evidence and signed checkpoints.
 *
 * @example
 * import { replayTo, explain, verifyLog } from './replay/index.js';
 * @module
 */
export { replayTo, type ReplayOptions } from './replay_to.js';
export { parsePoint, resolvePoint, normaliseTime, type Point } from './point.js';
export { openSource, type ReplaySource, type OpenedLog } from './source.js';
export { ReplayError } from './errors.js';
export { explain, requestFacts, type Explanation, type RequestExplanation, type StateAtOptions } from './explain.js';
export { timeline, streamVmTimeline, type VmSummary, type Timeline, type TimelineSubject, type PasidHolding, type MmGeneration, type VmLife } from './timeline.js';
export { diff, type LogDiff, type VfioMmPasidChange } from './diff.js';
export { verifyReplay, type ReplayVerification, type ReplayMismatch } from './verify_replay.js';
export { verifyLog, untrustedSnapshots, type LogVerification, type BadEntry, type ClockStep, type UntrustedSnapshot } from './verify.js';
export {
  CHECKPOINT_FORMAT, checkpointMessage, generateCheckpointKeys, makeCheckpoint, parseCheckpoint, checkSignature,
  readPrivateKey, readPublicKey, type Checkpoint,
} from './checkpoint.js';
export {
  verifyCheckpoint, verifyC2spCheckpoint, verifyJsonCheckpoint, isJsonCheckpoint,
  type CheckpointVerdict, type CheckpointVerdictKind, type C2spCheckpointVerdict, type JsonCheckpointVerdict,
  type CheckpointKeys, type NoteCheckpointRead, type JsonCheckpointRead, type VerifyCheckpointOptions,
} from './verify_checkpoint.js';
export { SnapshotCache, SNAPSHOT_EVERY, snapshotProblem, type CacheStats } from '../snapshot/cache.js';
export { encodeState, decodeState, stateDigest, SNAPSHOT_FORMAT } from '../snapshot/codec.js';
