export { openDatabase, StoreError, type OpenOptions } from './open.js';
export { migrateToLatest, kyselyOver, MIGRATIONS_DIR } from './migrate.js';
export { EntryLog, type LogRow, type LogHead } from './log.js';
export { SnapshotStore, type SnapshotRow } from './snapshots.js';
export { canonicalJson } from './canonical.js';
export { leafHash, leafHashBytes, chainHash, GENESIS_CHAIN } from './hash.js';
export { MerkleStore } from './tree.js';
export { indexColumns, type IndexColumns } from './columns.js';
export type { Database, EntriesTable, SnapshotsTable } from './schema.js';
