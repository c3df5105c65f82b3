import type { ColumnType, Generated } from 'kysely';

/** A host's head row: what PostgreSQL holds of its log, and when its shipper last called. */
export interface HostsTable {
  host: string;
  head_seq: Generated<number>;
  head_chain: Generated<string>;
  head_at: string | null;
  /** The local log's head as the shipper last saw it (lag = source_seq - head_seq). */
  source_seq: Generated<number>;
  shipped_at: ColumnType<Date | null, never, never>;
  seen_at: ColumnType<Date | null, never, never>;
  created_at: ColumnType<Date, never, never>;
}

/** One shipped entry, keyed (host, seq): the host's row exactly as it wrote it. */
export interface FleetEntriesTable {
  host: string;
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

/** A signed checkpoint of a host's log (format pasid-ledger-checkpoint/1). */
export interface CheckpointsTable {
  host: string;
  size: number;
  chain: string;
  at: string;
  public_key: string;
  signature: string;
  shipped_at: ColumnType<Date, never, never>;
}

/** The fleet database as kysely types it. */
export interface FleetDatabase {
  hosts: HostsTable;
  entries: FleetEntriesTable;
  checkpoints: CheckpointsTable;
}
