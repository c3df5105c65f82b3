import { EntryLog } from '../store/log.js';
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import type { KeyObject } from 'node:crypto';
import { readPublicKey } from '../replay/checkpoint.js';
import { isJsonCheckpoint, verifyJsonCheckpoint, type JsonCheckpointRead, type JsonCheckpointVerdict } from '../replay/verify_checkpoint.js';
import { safeLines, showName as n } from '../text/escape.js';
import { untrustedSnapshots, verifyLog, type LogVerification, type UntrustedSnapshot } from '../replay/verify.js';
import { CliError, intArg, printJson } from './common.js';
import { openLogFile, ticker } from './open_log.js';
import { progress } from './progress.js';
import { readText } from './note_keys.js';
import { verifyNoteCheckpoint } from './verify_note.js';

/** What `verify --checkpoint` concluded about the checkpoint. */
export interface CheckpointCheck {
  file: string;
  size: number;
  chain: string;
  at: string;
  ok: boolean;
  /** `signature`, `truncated`, `rewritten`, or `unchecked` (the log is bad at or before `size`). */
  problem: string | null;
  detail: string | null;
}

export function registerVerify(program: Command): void {
  program
    .command('verify')
    .description('recompute leaf and chain of every entry, check the indexing columns, canonical text and seq order; with --checkpoint, also that the log still extends a signed checkpoint')
    .option('--db <path>', 'the SQLite log (opened read-only); may be left out to check only a C2SP checkpoint\'s signatures')
    .option('--checkpoint <file>', 'a checkpoint written by "pasid-ledger checkpoint" (C2SP signed note or JSON): detect truncation and rewriting since')
    .option('--pub <file>', "JSON checkpoints: the signer's trusted public key (SPKI PEM): the checkpoint must be signed by it")
    .option('--vkey <key|file>', "C2SP checkpoints: the log's verifier key (name+id+base64, or a file holding it)")
    .option('--witness-vkey <key|file>', 'a witness verifier key (type 0x04); repeat for several', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--min-witnesses <k>', 'how many of the --witness-vkey must have cosigned (default 1 when any is given)', intArg('--min-witnesses', 1000))
    .option('--json', 'print JSON')
    .addHelpText('after', `
Warnings (printed, exit status unchanged):
  - an entry whose at is earlier than its predecessor's (the writer's clock went back);
    audit fails on it (check S5), verify only warns: the entry is what the writer hashed.
  - a stored snapshot the log does not vouch for (no snapshot entry at seq+1 recording
    the SHA-256 of exactly its blob, or a blob that does not decode): forged, corrupt, or
    left by older code. The ledger and every reader ignore it, so it cannot change any
    answer: a fault of the cache, not of the log.

Exit status: 0 when the log (and checkpoint) check out, 1 naming the first bad seq
or the checkpoint problem, 2 for bad input.`)
    .action(async (o: { db?: string; checkpoint?: string; pub?: string; vkey?: string; witnessVkey: string[]; minWitnesses?: number; json?: boolean }) => {
      if (o.pub !== undefined && o.checkpoint === undefined) throw new CliError('--pub needs --checkpoint');
      const text = o.checkpoint === undefined ? null : readText(o.checkpoint, 'checkpoint');
      if (o.checkpoint !== undefined && text !== null) {
        if (!isJsonCheckpoint(text)) {
          if (o.pub !== undefined) throw new CliError('--pub is for JSON checkpoints: a C2SP checkpoint needs --vkey');
          const opts = { checkpoint: o.checkpoint, witnessVkey: o.witnessVkey, ...(o.db !== undefined ? { db: o.db } : {}), ...(o.vkey !== undefined ? { vkey: o.vkey } : {}), ...(o.minWitnesses !== undefined ? { minWitnesses: o.minWitnesses } : {}), ...(o.json ? { json: true } : {}) };
          return verifyNoteCheckpoint(opts, text);
        }
      }
      if (o.vkey !== undefined || o.witnessVkey.length > 0) throw new CliError('--vkey and --witness-vkey are for C2SP checkpoints (this one is JSON: use --pub)');
      if (o.db === undefined) throw new CliError("required option '--db <path>' not specified");
      // A checkpoint that cannot be read is bad input, told before the key and the log are read.
      const early = text === null ? null : verifyJsonCheckpoint(null, text, {});
      if (early?.kind === 'unusable') throw new CliError(`${o.checkpoint}: ${early.why}`);
      const trusted = o.pub === undefined ? undefined : loadPublicKey(o.pub);
      const db = await openLogFile(o.db);
      let r: LogVerification;
      let verdict: JsonCheckpointVerdict | null = null;
      let snapshots: UntrustedSnapshot[];
      try {
        const total = new EntryLog(db).head().seq;
        const bar = progress('entries verified', total);
        const tick = ticker(bar);
        const onProgress = (n: number) => tick(n);
        try {
          if (text === null) r = verifyLog(db, { onProgress });
          else {
            verdict = verifyJsonCheckpoint(db, text, trusted === undefined ? {} : { pub: trusted }, { onProgress });
            r = verdict.log ?? verifyLog(db, { onProgress }); // (no log only for an unusable checkpoint, refused above)
          }
        } finally {
          bar.done();
        }
        snapshots = untrustedSnapshots(db);
      } finally {
        db.close();
      }
      const check = verdict ? checkpointCheck(o.checkpoint ?? '', verdict) : null;
      const ok = r.ok && (check === null || check.ok);
      if (o.json) printJson({ ok, entries: r.entries, size: r.size, chain: r.chain, bad: r.bad, checkpoint: check, clock_backwards: r.clockBackwards, untrusted_snapshots: snapshots });
      else process.stdout.write(safeLines([...lines(r, check), ...warnings(r, snapshots)]) + '\n');
      if (!ok) process.exitCode = 1;
    });
}

function loadPublicKey(file: string): KeyObject {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new CliError(`${file}: cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const key = readPublicKey(text);
  if (typeof key === 'string') throw new CliError(`${file}: ${key}`);
  return key;
}

/** The library's verdict as the command reports it (`--json` prints this object). */
function checkpointCheck(file: string, v: JsonCheckpointVerdict): CheckpointCheck | null {
  const cp = v.checkpoint;
  if (cp === null) return null;
  return { file, size: cp.size, chain: cp.chain, at: cp.at, ok: v.kind === 'ok', problem: v.kind === 'ok' ? null : v.kind, detail: detail(v, cp) };
}

function detail(v: JsonCheckpointVerdict, cp: JsonCheckpointRead): string | null {
  switch (v.kind) {
    case 'ok': return null;
    case 'signature': case 'unusable': return v.why;
    case 'rewritten': return `the log's chain at seq ${cp.size} is ${v.found}, the checkpoint signed ${cp.chain}: entries up to ${cp.size} were rewritten since ${cp.at}`;
    case 'truncated': return `the log has ${v.entries} entries, the checkpoint of ${cp.at} signed ${cp.size}: the log was cut back`;
    case 'unchecked': return `the log is bad at seq ${v.bad.seq}, before the checkpoint's size ${cp.size}`;
    case 'witnesses': return `${v.cosigned.length} of ${v.needed} witnesses cosigned`;
  }
}

function warnings(r: LogVerification, snapshots: UntrustedSnapshot[]): string[] {
  const out: string[] = [];
  const c = r.clockBackwards;
  if (c.count > 0) {
    out.push(`warning: the clock went back at ${c.count} entr${c.count === 1 ? 'y' : 'ies'}: ${c.first.map((x) => `seq ${x.seq} (at ${x.at}, after ${x.previous})`).join(', ')}${c.count > c.first.length ? ', ...' : ''}`);
  }
  for (const s of snapshots) out.push(`warning: snapshot at seq ${s.seq} is not trusted (ignored by the ledger and readers): ${s.problem}`);
  return out;
}

function lines(r: LogVerification, c: CheckpointCheck | null): string[] {
  const out = r.ok
    ? [`ok: ${r.entries} entries, seq 1 to ${r.size} with no gap, every leaf, chain, indexing column and canonical text checks out; chain head ${r.chain}`]
    : [`seq ${r.bad!.seq} is bad: ${r.bad!.problem}`, `(entries 1 to ${r.size} check out)`];
  if (c) out.push(c.ok ? `checkpoint ${n(c.file)}: signature good; the log still has entry ${c.size} with the signed chain (${c.at})` : `checkpoint ${n(c.file)}: ${c.problem}: ${c.detail}`);
  return out;
}
