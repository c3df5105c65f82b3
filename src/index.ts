/**
 * pasid-ledger: the host side of VFIO shared virtual addressing as xstate machines
 * over an append-only, hash-chained SQLite log.
 *
 * @example
 * import { openLedger } from 'pasid-ledger';
 * const ledger = await openLedger('./pasid-ledger.db');
 * ledger.request({ op: 'vm_start', vm: 'vm1', mm: '0x1000' });
 */
export { openLedger, Ledger, outcomeOf, readConfig, type LedgerOptions } from './ledger.js';
export { resolveConfig, type ConfigOptions } from './config.js';
export { parseRequest, RequestError, BatchRequestError, REQUEST_OPS } from './model/request.js';
export { decide } from './model/decide.js';
export { evolve } from './model/evolve.js';
export { emptyState, cloneState, type HostState, type VfioMmState, type ContainerState, type VmState, type GroupState } from './model/state.js';
export { viewState, type StateView } from './model/view.js';
export type { Decision } from './model/decision.js';
export type * from './model/types.js';
export { StoreError, NotALogError, SchemaTooNewError, ConfigMismatchError, BusyError } from './store/open.js';
export { queryEntries, streamEntries, type EntryFilter } from './replay/entries.js';
export * as uapi from './uapi/index.js';
export * from './replay/index.js';
export * as audit from './audit/index.js';
export { auditLog, type AuditReport } from './audit/index.js';
export { type GroupItem, type GroupResult, tokenSha256 } from './ledger.js';
export { TokenBook, vmmRefusal, TOKEN_ROLES, type TokenEntry, type TokenRecord, type TokenRole } from './model/token.js';
export { startServer, ServeError, type ServeOptions, type RunningServer } from './server/server.js';
export { openApiDocument } from './server/openapi.js';
export { connect, ServerError, type ConnectOptions, type ServerClient } from './client/connect.js';
export type { StoredCheckpoint } from './store/export_rows.js';
export { openEntryStream, type EntryStream, type EntryStreamOptions } from './client/entry_stream.js';
export {
  inclusionProof, consistencyProof, checkpointText, verifyWithRoot, firstDifferingEntry,
  type InclusionProofJson, type ConsistencyProofJson, type RootVerification,
} from './replay/proofs.js';
export { MerkleStore } from './store/tree.js';
export * as tlog from './tlog/index.js';
