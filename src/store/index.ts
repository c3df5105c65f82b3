export { openDatabase, StoreError, type OpenOptions } from './open.js';
export { migrateToLatest, MIGRATIONS_DIR } from './migrate.js';
export { kyselyOver } from './query.js';
export { EntryLog, type LogRow, type LogHead } from './log.js';
export { SnapshotStore, type SnapshotRow } from './snapshots.js';
export { canonicalJson, canonicalEntry } from './canonical.js';
export { leafHash, chainHash, GENESIS_CHAIN } from './hash.js';
export { indexColumns, type IndexColumns } from './columns.js';
export type { Database, EntriesTable, SnapshotsTable } from './schema.js';
