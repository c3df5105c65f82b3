import type { TokenReport } from './token_report.js';
import type { HostConfig } from '../model/types.js';
import type { InvariantResult } from './findings.js';
import type { GuestReport } from './guest_report.js';
import type { QuirkSummary } from './quirks.js';
import type { VfioMmReport } from './vfio_mm_report.js';
import type { VmReport } from './vm_report.js';

/** The whole audit of a log: what `audit --format json` prints. */
export interface AuditReport {
  format: 'pasid-ledger-audit';
  version: 1;
  /** The configuration the log was written with (entry 1). */
  config: HostConfig;
  /** The part of the log audited: entries 1..seq, whose last chain value is `chain`. */
  head: { seq: number; chain: string };
  /**
   * True when the audit recomputed every row's leaf and chain (check S4: when it holds,
   * `head.chain` is the chain recomputed from entry 1); false with --no-verify
   * (`head.chain` is then the stored value, unchecked).
   */
  chain_checked: boolean;
  entries: number;
  requests: number;
  transitions: number;
  first_at: string | null;
  last_at: string | null;
  /** True when every invariant held at every position. */
  ok: boolean;
  invariants: InvariantResult[];
  quirks: QuirkSummary;
  vfio_mms: VfioMmReport[];
  vms: VmReport[];
  /** What the guests saw: virtual commands per vm by status, config accesses per PCI function, GET_INFO. */
  guest: GuestReport;
  /** ALLOCs whose request this audit does not know how to read (a later profile's op): not checked for lowest-free order. */
  unchecked_allocs: number;
  /** Server tokens (`pasid-ledger serve`): grants, revocations and the requests made with each. */
  tokens: TokenReport[];
}
