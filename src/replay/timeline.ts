import type BetterSqlite3 from 'better-sqlite3';
import type { Entry, RequestEntry, TransitionEntry } from '../model/types.js';
import { opsWhere } from '../model/ops/registry.js';
import { kyselyOver } from '../store/query.js';
import { DROPPED_WRITE_REASONS, vcmdOutcome } from '../model/guest_vocab.js';
import { queryEntries, streamEntries } from './entries.js';
import { openSource, type ReplaySource } from './source.js';

/** Whose life to tell: one vm, one PASID, one mm token, or one PCI function (bdf). */
export type TimelineSubject = { vm: string } | { pasid: number } | { mm: string } | { bdf: string };

/** What a vm's guest did through its vIOMMU and its functions' config space. */
export interface GuestActivity {
  vcmd_writes: number;
  vcmd_reads: number;
  /** VCMD writes by the status the guest read back (`success`, `no_pasid_available`, ...) or the drop. */
  vcmd_by_outcome: Record<string, number>;
  config_reads: number;
  config_writes: number;
  /** Config writes vfio-pci dropped (reported as success), by recorded reason. */
  writes_dropped: Record<string, number>;
  /** The seqs of the writes that tried to enable PASID on an exposed, read-only capability. */
  pasid_enable_dropped: number[];
  /** The seqs of the writes that reached a hidden PASID capability's bytes raw (mainline quirk). */
  hidden_pasid_raw_writes: number[];
}

/** One stretch during which a function was bound to vfio-pci: from ADD to REMOVE. */
export interface DeviceLife {
  group: string;
  added_seq: number;
  removed_seq: number | null;
  is_vf: boolean;
  pasid_view: string;
  pasid_offset: number | null;
  exposure: string;
}

/** One stretch during which a PASID was held by one vfio_mm. */
export interface PasidHolding {
  vfio_mm: number;
  mm: string;
  /** The ALLOC transition, the request behind it, and when. */
  alloc_seq: number;
  alloc_cause: number;
  alloc_at: string;
  /** The FREE transition (null: still held at the end of the log), the request behind it, and when. */
  free_seq: number | null;
  free_cause: number | null;
  free_at: string | null;
  /** What freed it: a FREE request, or a teardown (vm exit or crash, container close, group detach). */
  freed_by: string | null;
}

/** One vfio_mm of an mm token: a generation, from CREATE to RELEASE. */
export interface MmGeneration {
  vfio_mm: number;
  gen: number;
  /** The quota it recorded last, and the limit its set enforced (they differ after a failed lazy adjust). */
  quota: number;
  set_quota: number;
  created_seq: number;
  released_seq: number | null;
  /** Every PASID the generation was handed (in order, a PASID again each time it came back). */
  allocated: number[];
  /** PASIDs freed one by one before the release (FREE requests). */
  freed: number[];
  /** PASIDs reclaimed by the release. */
  reclaimed: number[];
  /** PASIDs still held at the end of the log (a live generation). */
  held: number[];
}

/** One start-to-end life of a vm. */
export interface VmLife {
  mm: string;
  started_seq: number;
  ended_seq: number | null;
  /** `exited`, `crashed`, or null while running. */
  end: string | null;
}

/** The life of one object, entry by entry, with a summary fitted to its kind. */
export interface Timeline {
  subject: TimelineSubject;
  entries: Entry[];
  /** For a PASID: who held it, when. */
  holdings?: PasidHolding[];
  /** For an mm token: its vfio_mm generations and their PASIDs. */
  generations?: MmGeneration[];
  /** For a vm: its lives, and how its requests came out. */
  lives?: VmLife[];
  requests?: { total: number; failed: number; by_reason: Record<string, number> };
  /** For a vm: its guest's virtual commands and config accesses. For a bdf: the config accesses to it. */
  guest?: GuestActivity;
  /** For a bdf: each time it was bound (added) and unbound (removed). */
  device_lives?: DeviceLife[];
  /** For a bdf: raw guest writes that reached the hardware, with the PASID control register after each. */
  raw_writes?: Array<{ seq: number; cause: number; offsets: number[]; pasid_ctrl: number | null }>;
}

/**
 * Every entry about one object, oldest first: for a vm, the requests it made, the
 * transitions they caused and its own transitions; for a PASID, each request that
 * handed it out or named it and each ALLOC and FREE of it, by which vfio_mm and mm;
 * for an mm token, its vms, its vfio_mm generations and their PASIDs; for a bdf, its
 * device_add / device_remove requests, its config accesses and its device transitions.
 * The log has no index column for a bdf: that one scans the device requests and
 * transitions (the `op` and `machine` columns, then `bdf` inside the entry text).
 *
 * @throws ReplayError for a file that holds no log.
 * @example
 * (await timeline(ledger, { pasid: 5 })).holdings;
 * // [{ vfio_mm: 2, mm: '0x2000', alloc_seq: 46, free_seq: 80, freed_by: 'vm_crash', ... }]
 */
export async function timeline(src: ReplaySource, subject: TimelineSubject): Promise<Timeline> {
  const { db, log } = openSource(src);
  const entries = 'bdf' in subject ? await deviceEntries(db, subject.bdf) : await queryEntries(db, subject);
  const out: Timeline = { subject, entries };
  const opOf = (seq: number): string | null => {
    const row = log.row(seq);
    return row ? (JSON.parse(row.entry) as RequestEntry).op ?? null : null;
  };
  if ('pasid' in subject) out.holdings = holdings(entries, opOf);
  else if ('mm' in subject) out.generations = generations(entries);
  else if ('bdf' in subject) {
    out.device_lives = deviceLives(entries);
    out.requests = requestsOf(entries);
    out.guest = guestActivity(entries);
    out.raw_writes = transitions(entries).filter((t) => t.machine === 'device' && t.event === 'CONFIG_WRITE').map((t) => ({
      seq: t.seq, cause: t.cause, offsets: Array.isArray(t.raw) ? (t.raw as Array<{ offset: number }>).map((w) => w.offset) : [],
      pasid_ctrl: typeof t.pasid_ctrl === 'number' ? t.pasid_ctrl : null,
    }));
  } else {
    out.lives = lives(entries, subject.vm);
    out.requests = requestsOf(entries);
    out.guest = guestActivity(entries);
  }
  return out;
}

/** Request ops that name a bdf (the registry's `device`). */
const DEVICE_OPS = opsWhere((o) => o.device);

/**
 * The entries of one PCI function: no column indexes a bdf, so this scans the device
 * requests (by `op`) and transitions (by `machine`) and matches the bdf in their text.
 */
async function deviceEntries(db: BetterSqlite3.Database, bdf: string): Promise<Entry[]> {
  const { k, sql } = await kyselyOver(db);
  const rows = await k.selectFrom('entries').select('entry')
    .where((eb) => eb.or([
      eb.and([eb('type', '=', 'request'), eb('op', 'in', DEVICE_OPS)]),
      eb.and([eb('type', '=', 'transition'), eb('machine', '=', 'device')]),
    ]))
    .where(sql<string>`coalesce(json_extract(entry, '$.req.bdf'), json_extract(entry, '$.bdf'))`, '=', bdf)
    .orderBy('seq')
    .execute();
  return rows.map((r) => JSON.parse(r.entry) as Entry);
}

function deviceLives(entries: Entry[]): DeviceLife[] {
  const out: DeviceLife[] = [];
  for (const t of transitions(entries)) {
    if (t.machine !== 'device') continue;
    if (t.event === 'ADD') {
      out.push({
        group: String(t.group), added_seq: t.seq, removed_seq: null, is_vf: t.is_vf === true, pasid_view: String(t.pasid_view),
        pasid_offset: typeof t.pasid_offset === 'number' ? t.pasid_offset : null, exposure: String(t.exposure),
      });
    } else if (t.event === 'REMOVE' && out.length > 0) out[out.length - 1]!.removed_seq = t.seq;
  }
  return out;
}

function guestActivity(entries: Entry[]): GuestActivity {
  const g = emptyGuest();
  for (const e of entries) guestStep(g, e);
  return g;
}

function emptyGuest(): GuestActivity {
  return { vcmd_writes: 0, vcmd_reads: 0, vcmd_by_outcome: {}, config_reads: 0, config_writes: 0, writes_dropped: {}, pasid_enable_dropped: [], hidden_pasid_raw_writes: [] };
}

function guestStep(g: GuestActivity, e: Entry): void {
  const bump = (m: Record<string, number>, k: string) => { m[k] = (m[k] ?? 0) + 1; };
  if (e.type !== 'request') return;
  if (e.op === 'vcmd_write') {
    g.vcmd_writes++;
    bump(g.vcmd_by_outcome, vcmdOutcome(e));
  } else if (e.op === 'vcmd_read') g.vcmd_reads++;
  else if (e.op === 'config_read') g.config_reads++;
  else if (e.op === 'config_write') {
    g.config_writes++;
    if (e.reason !== undefined && DROPPED_WRITE_REASONS.has(e.reason)) bump(g.writes_dropped, e.reason);
    if (e.reason === 'pasid_enable_dropped') g.pasid_enable_dropped.push(e.seq);
    if (e.reason === 'hidden_pasid_cap_raw_write') g.hidden_pasid_raw_writes.push(e.seq);
  }
}

const transitions = (entries: Entry[]) => entries.filter((e): e is TransitionEntry => e.type === 'transition');

function holdings(entries: Entry[], opOf: (seq: number) => string | null): PasidHolding[] {
  const out: PasidHolding[] = [];
  let open: PasidHolding | null = null;
  for (const t of transitions(entries)) {
    if (t.machine !== 'pasid') continue;
    if (t.event === 'ALLOC') {
      open = {
        vfio_mm: t.vfio_mm, mm: t.mm, alloc_seq: t.seq, alloc_cause: t.cause, alloc_at: t.at,
        free_seq: null, free_cause: null, free_at: null, freed_by: null,
      };
      out.push(open);
    } else if (t.event === 'FREE' && open) {
      open.free_seq = t.seq;
      open.free_cause = t.cause;
      open.free_at = t.at;
      open.freed_by = opOf(t.cause);
      open = null;
    }
  }
  return out;
}

function generations(entries: Entry[]): MmGeneration[] {
  const byId = new Map<number, MmGeneration>();
  for (const t of transitions(entries)) {
    if (t.machine !== 'vfio_mm' && t.machine !== 'pasid') continue;
    const id = t.vfio_mm;
    if (t.machine === 'vfio_mm' && t.event === 'CREATE') {
      byId.set(id, {
        vfio_mm: id, gen: t.gen, quota: t.quota, set_quota: t.set_quota, created_seq: t.seq, released_seq: null,
        allocated: [], freed: [], reclaimed: [], held: [],
      });
      continue;
    }
    const g = byId.get(id);
    if (!g) continue;
    if (t.machine === 'vfio_mm' && t.event === 'QUOTA_ADJUST') {
      g.quota = t.quota;
      g.set_quota = t.set_quota;
    }
    if (t.machine === 'vfio_mm' && t.event === 'RELEASE') g.released_seq = t.seq;
    if (t.machine !== 'pasid') continue;
    const pasid = t.pasid;
    if (t.event === 'ALLOC') {
      g.allocated.push(pasid);
      g.held.push(pasid);
    } else if (t.event === 'FREE') {
      g.held.splice(g.held.indexOf(pasid), 1);
      // A FREE with a container is a FREE request's; the release's frees name none.
      (t.container === undefined ? g.reclaimed : g.freed).push(pasid);
    }
  }
  return [...byId.values()].sort((a, b) => a.vfio_mm - b.vfio_mm);
}

function lives(entries: Entry[], vm: string): VmLife[] {
  const out: VmLife[] = [];
  for (const e of entries) lifeStep(out, e, vm);
  return out;
}

function lifeStep(out: VmLife[], t: Entry, vm: string): void {
  if (t.type !== 'transition' || t.machine !== 'vm' || t.vm !== vm) return;
  if (t.event === 'VM_START') out.push({ mm: t.mm, started_seq: t.seq, ended_seq: null, end: null });
  else if (out.length > 0) {
    const life = out[out.length - 1]!;
    life.ended_seq = t.seq;
    life.end = t.to;
  }
}

function requestsOf(entries: Entry[]): NonNullable<Timeline['requests']> {
  const r = { total: 0, failed: 0, by_reason: {} as Record<string, number> };
  for (const e of entries) requestStep(r, e);
  return r;
}

function requestStep(r: NonNullable<Timeline['requests']>, e: Entry): void {
  if (e.type !== 'request') return;
  r.total++;
  if (e.ret < 0) r.failed++;
  if (e.reason !== undefined) r.by_reason[e.reason] = (r.by_reason[e.reason] ?? 0) + 1;
}

/** A vm's timeline without its entries: the summary, and how many entries there are. */
export type VmSummary = Omit<Timeline, 'entries'> & { entry_count: number };

/**
 * A vm's timeline in constant memory (a vm's log can be most of a long log): the
 * summary `timeline` gives for a vm, folded over the entries as they stream by, with
 * `onEntry` called for each, oldest first; no entry is kept. Called twice (once for
 * the summary, once to print the entries) a caller prints the summary first without
 * holding the log.
 *
 * @throws ReplayError for a file that holds no log.
 * @example
 * const sum = await streamVmTimeline(db, 'vm1');            // the summary only
 * await streamVmTimeline(db, 'vm1', (e) => print(fmtEntry(e))); // and each entry as it comes
 */
export async function streamVmTimeline(src: ReplaySource, vm: string, onEntry?: (e: Entry) => void): Promise<VmSummary> {
  const { db } = openSource(src);
  const out: VmSummary = { subject: { vm }, entry_count: 0, lives: [], requests: { total: 0, failed: 0, by_reason: {} }, guest: emptyGuest() };
  for await (const e of streamEntries(db, { vm })) {
    out.entry_count++;
    lifeStep(out.lives!, e, vm);
    requestStep(out.requests!, e);
    guestStep(out.guest!, e);
    onEntry?.(e);
  }
  return out;
}
