import { verifyC2spCheckpoint, type C2spCheckpointVerdict, type CheckpointKeys, type NoteCheckpointRead } from '../replay/verify_checkpoint.js';
import type { LogVerification } from '../replay/verify.js';
import { EntryLog } from '../store/log.js';
import { ALG_COSIGNATURE_V1, ALG_ED25519 } from '../tlog/keys.js';
import { CliError, printJson } from './common.js';
import { loadVerifier } from './note_keys.js';
import { openLogFile, ticker } from './open_log.js';
import { progress } from './progress.js';
import { safeLines, showName as n } from '../text/escape.js';

/** What `verify --checkpoint` concluded about a C2SP checkpoint. */
export interface NoteCheck {
  file: string;
  origin: string | null;
  size: number | null;
  ok: boolean;
  /** `signature`, `witnesses`, `truncated`, `rewritten`, `unchecked`, or null. */
  problem: string | null;
  detail: string | null;
  signers: string[];
  witnesses: string[];
  /** The first entry that differs from what the checkpoint signed, when it can be told. */
  first_differing_seq: number | null;
}

export interface NoteVerifyOptions {
  db?: string;
  checkpoint: string;
  vkey?: string;
  witnessVkey?: string[];
  minWitnesses?: number;
  json?: boolean;
}

/**
 * `verify --checkpoint NOTE --vkey V [--witness-vkey W ... --min-witnesses K] [--db DB]`:
 * the library's verdict (`verifyCheckpoint`) on the signatures, then (with a database,
 * opened only once they check out) on the log's root at the checkpoint's size.
 */
export async function verifyNoteCheckpoint(o: NoteVerifyOptions, noteText: string): Promise<void> {
  if (o.vkey === undefined) throw new CliError('a C2SP checkpoint needs --vkey (the log\'s verifier key, or a file holding it)');
  const logKey = loadVerifier(o.vkey, '--vkey');
  if (logKey.alg !== ALG_ED25519) throw new CliError('--vkey must be a log key (type 0x01), not a witness key');
  const witnessKeys = (o.witnessVkey ?? []).map((w) => loadVerifier(w, '--witness-vkey'));
  for (const w of witnessKeys) if (w.alg !== ALG_COSIGNATURE_V1) throw new CliError(`--witness-vkey ${w.name}: not a witness key (type 0x04)`);
  const min = o.minWitnesses ?? (witnessKeys.length > 0 ? 1 : 0);
  if (min > witnessKeys.length) throw new CliError(`--min-witnesses ${min} is more than the ${witnessKeys.length} --witness-vkey given`);
  const keys: CheckpointKeys = { vkey: logKey, witnesses: witnessKeys, minWitnesses: min };
  let v = verifyC2spCheckpoint(null, noteText, keys);
  if (v.kind === 'ok' && o.db !== undefined) v = await againstLog(o.db, noteText, keys);
  if (v.kind === 'unusable') throw new CliError(`${o.checkpoint}: ${v.why}`);
  const check = noteCheck(o.checkpoint, v);
  const verification = v.log;
  // A bad entry after the signed size leaves the checkpoint good and the log bad: exit 1 all the same.
  const ok = check.ok && (verification?.ok ?? true);
  if (o.json) printJson({ ok, checkpoint: check, log: verification && { ok: verification.ok, entries: verification.entries, size: verification.size, bad: verification.bad } });
  else process.stdout.write(safeLines(lines(check, verification)) + '\n');
  if (!ok) process.exitCode = 1;
}

async function againstLog(path: string, noteText: string, keys: CheckpointKeys): Promise<C2spCheckpointVerdict> {
  const db = await openLogFile(path);
  try {
    const bar = progress('entries verified', new EntryLog(db).head().seq);
    const tick = ticker(bar);
    try {
      return verifyC2spCheckpoint(db, noteText, keys, { onProgress: (n) => tick(n) });
    } finally {
      bar.done();
    }
  } finally {
    db.close();
  }
}

/** The verdict as the command reports it (`--json` prints this object). */
function noteCheck(file: string, v: C2spCheckpointVerdict): NoteCheck {
  const cp = v.checkpoint;
  const problem = v.kind === 'ok' ? null : v.kind;
  return {
    file, origin: cp.origin, size: cp.size, ok: v.kind === 'ok', problem, detail: detail(v, cp), signers: cp.signers, witnesses: cp.witnesses,
    first_differing_seq: v.kind === 'rewritten' ? v.seq : null,
  };
}

function detail(v: C2spCheckpointVerdict, cp: NoteCheckpointRead): string | null {
  switch (v.kind) {
    case 'ok': return null;
    case 'signature': case 'unusable': return v.why;
    case 'witnesses': return `${v.cosigned.length} of the given witnesses cosigned (${v.cosigned.map(n).join(', ') || 'none'}), ${v.needed} needed`;
    case 'truncated': return `the log has ${v.entries} entries, the checkpoint signed ${cp.size}: the log was cut back`;
    case 'unchecked': return `the log is bad at seq ${v.bad.seq}, before the checkpoint's size ${cp.size}`;
    case 'rewritten':
      if (cp.size === 0) return 'a size-0 checkpoint must sign the empty tree\'s root';
      return v.seq !== null
        ? `entry ${v.seq} is not the one the checkpoint signed (the first that differs): the log's root at size ${cp.size} is ${v.found}, the checkpoint signed ${v.signed}`
        : `the log's root at size ${cp.size} is ${v.found}, the checkpoint signed ${v.signed}: entries up to ${cp.size} were rewritten (the stored tree was rewritten too, so the first differing entry cannot be told)`;
  }
}

function lines(c: NoteCheck, r: LogVerification | null): string[] {
  const out: string[] = [];
  if (r) {
    out.push(r.ok
      ? `ok: ${r.entries} entries, seq 1 to ${r.size} with no gap, every leaf, chain, indexing column and canonical text checks out; chain head ${r.chain}`
      : `seq ${r.bad!.seq} is bad: ${r.bad!.problem}`);
  }
  // The origin and the names come from the checkpoint file (hostile): shown escaped and quoted when they hold a control or bidi character.
  if (c.ok) {
    const wit = c.witnesses.length > 0 ? `, cosigned by ${c.witnesses.map(n).join(', ')}` : '';
    out.push(`checkpoint ${n(c.file)}: ${n(c.origin ?? '')} size ${c.size} signed by ${c.signers.map(n).join(', ')}${wit}${r ? '; the log still has those entries with that root' : ''}`);
  } else out.push(`checkpoint ${n(c.file)}: ${c.problem}: ${c.detail}`);
  return out;
}
