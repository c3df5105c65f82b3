import type { ColumnType } from 'kysely';

/** One row of `entries`, as the read side sees it through kysely. */
export interface EntriesTable {
  seq: number;
  entry: string;
  leaf: string;
  chain: string;
  at: string;
  type: string;
  op: string | null;
  machine: string | null;
  vm: string | null;
  container: string | null;
  mm: string | null;
  pasid: number | null;
  cause: number | null;
  request_id: string | null;
}

/** One cached state; never the truth (the log is). */
export interface SnapshotsTable {
  seq: number;
  chain: string;
  state: ColumnType<Buffer, Buffer, never>;
  created_at: string;
}

/** The database as kysely types it. */
export interface Database {
  entries: EntriesTable;
  snapshots: SnapshotsTable;
}
