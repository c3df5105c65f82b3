import { firstDifferingEntry, verifyWithRoot, type RootVerification } from '../replay/proofs.js';
import { EntryLog } from '../store/log.js';
import { parseCheckpoint, type CheckpointBody } from '../tlog/checkpoint.js';
import { ALG_COSIGNATURE_V1, ALG_ED25519 } from '../tlog/keys.js';
import { openNote } from '../tlog/note.js';
import { EMPTY_ROOT } from '../tlog/merkle.js';
import { CliError, printJson } from './common.js';
import { loadVerifier } from './note_keys.js';
import { openLogFile, ticker } from './open_log.js';
import { progress } from './progress.js';

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
 * the log's signature, enough witness cosignatures, then (with a database) that the
 * log's root recomputed from its entries at the checkpoint's size is the signed one.
 */
export async function verifyNoteCheckpoint(o: NoteVerifyOptions, noteText: string): Promise<void> {
  if (o.vkey === undefined) throw new CliError('a C2SP checkpoint needs --vkey (the log\'s verifier key, or a file holding it)');
  const logKey = loadVerifier(o.vkey, '--vkey');
  if (logKey.alg !== ALG_ED25519) throw new CliError('--vkey must be a log key (type 0x01), not a witness key');
  const witnessKeys = (o.witnessVkey ?? []).map((w) => loadVerifier(w, '--witness-vkey'));
  for (const w of witnessKeys) if (w.alg !== ALG_COSIGNATURE_V1) throw new CliError(`--witness-vkey ${w.name}: not a witness key (type 0x04)`);
  const min = o.minWitnesses ?? (witnessKeys.length > 0 ? 1 : 0);
  if (min > witnessKeys.length) throw new CliError(`--min-witnesses ${min} is more than the ${witnessKeys.length} --witness-vkey given`);
  const check: NoteCheck = { file: o.checkpoint, origin: null, size: null, ok: false, problem: null, detail: null, signers: [], witnesses: [], first_differing_seq: null };
  let verification: RootVerification | null = null;
  const finish = (): void => {
    // A bad entry after the signed size leaves the checkpoint good and the log bad: exit 1 all the same.
    const ok = check.ok && (verification?.ok ?? true);
    if (o.json) printJson({ ok, checkpoint: check, log: verification && { ok: verification.ok, entries: verification.entries, size: verification.size, bad: verification.bad } });
    else process.stdout.write(lines(check, verification).join('\n') + '\n');
    if (!ok) process.exitCode = 1;
  };
  const opened = openNote(noteText, [logKey, ...witnessKeys]);
  if (typeof opened === 'string') {
    Object.assign(check, { problem: 'signature', detail: opened });
    return finish();
  }
  check.signers = opened.good.filter((g) => g.alg === ALG_ED25519).map((g) => g.name);
  check.witnesses = opened.good.filter((g) => g.alg === ALG_COSIGNATURE_V1).map((g) => g.name);
  if (check.signers.length === 0) {
    Object.assign(check, { problem: 'signature', detail: `not signed by ${logKey.name}+${logKey.keyId.toString('hex')} (signed by another key, or not at all)` });
    return finish();
  }
  const cp = parseCheckpoint(opened.text);
  if (typeof cp === 'string') throw new CliError(`${o.checkpoint}: ${cp}`);
  check.origin = cp.origin;
  check.size = cp.size;
  if (check.witnesses.length < min) {
    Object.assign(check, { problem: 'witnesses', detail: `${check.witnesses.length} of the given witnesses cosigned (${check.witnesses.join(', ') || 'none'}), ${min} needed` });
    return finish();
  }
  if (o.db === undefined) {
    check.ok = true;
    return finish();
  }
  verification = await againstLog(o.db, cp, check);
  return finish();
}

async function againstLog(path: string, cp: CheckpointBody, check: NoteCheck): Promise<RootVerification> {
  const db = await openLogFile(path);
  try {
    const total = new EntryLog(db).head().seq;
    const bar = progress('entries verified', total);
    const tick = ticker(bar);
    let r: RootVerification;
    try {
      r = verifyWithRoot(db, { rootAt: cp.size, onProgress: (n) => tick(n) });
    } finally {
      bar.done();
    }
    if (cp.size === 0) {
      check.ok = cp.root.equals(EMPTY_ROOT);
      if (!check.ok) Object.assign(check, { problem: 'rewritten', detail: 'a size-0 checkpoint must sign the empty tree\'s root' });
    } else if (r.root) {
      if (r.root.root.equals(cp.root)) check.ok = true;
      else {
        const seq = firstDifferingEntry(db, cp.size, cp.root);
        check.first_differing_seq = seq;
        Object.assign(check, {
          problem: 'rewritten',
          detail: seq !== null
            ? `entry ${seq} is not the one the checkpoint signed (the first that differs): the log's root at size ${cp.size} is ${r.root.root.toString('base64')}, the checkpoint signed ${cp.root.toString('base64')}`
            : `the log's root at size ${cp.size} is ${r.root.root.toString('base64')}, the checkpoint signed ${cp.root.toString('base64')}: entries up to ${cp.size} were rewritten (the stored tree was rewritten too, so the first differing entry cannot be told)`,
        });
      }
    } else if (r.ok) {
      Object.assign(check, { problem: 'truncated', detail: `the log has ${r.size} entries, the checkpoint signed ${cp.size}: the log was cut back` });
    } else {
      Object.assign(check, { problem: 'unchecked', detail: `the log is bad at seq ${r.bad!.seq}, before the checkpoint's size ${cp.size}` });
    }
    return r;
  } finally {
    db.close();
  }
}

function lines(c: NoteCheck, r: RootVerification | null): string[] {
  const out: string[] = [];
  if (r) {
    out.push(r.ok
      ? `ok: ${r.entries} entries, seq 1 to ${r.size} with no gap, every leaf, chain, indexing column and canonical text checks out; chain head ${r.chain}`
      : `seq ${r.bad!.seq} is bad: ${r.bad!.problem}`);
  }
  if (c.ok) {
    const wit = c.witnesses.length > 0 ? `, cosigned by ${c.witnesses.join(', ')}` : '';
    out.push(`checkpoint ${c.file}: ${c.origin} size ${c.size} signed by ${c.signers.join(', ')}${wit}${r ? '; the log still has those entries with that root' : ''}`);
  } else out.push(`checkpoint ${c.file}: ${c.problem}: ${c.detail}`);
  return out;
}
