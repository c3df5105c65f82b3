import { verifyWithRoot } from '../replay/proofs.js';
import { EntryLog } from '../store/log.js';
import { MerkleStore } from '../store/tree.js';
import { formatCheckpoint } from '../tlog/checkpoint.js';
import { keyNameProblem, type NoteSigner } from '../tlog/keys.js';
import { signNote } from '../tlog/note.js';
import { CliError, printJson } from './common.js';
import { loadSigner } from './note_keys.js';
import { openLogFile, ticker } from './open_log.js';
import { progress } from './progress.js';
import { writeOut } from './write_out.js';

/**
 * The origin line a signed-note key signs under (`origin`, default the key's name),
 * checked as `checkpoint --key` checks it.
 *
 * @throws CliError for an origin that is not one printable line, or a key name C2SP refuses.
 */
export function noteOrigin(signer: NoteSigner, origin: string | undefined, originFlag: string, keyFlag: string): string {
  const o = origin ?? signer.name;
  if (o.length === 0 || /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u.test(o)) throw new CliError(`${originFlag} must be one line of printable text`);
  if (keyNameProblem(signer.name)) throw new CliError(`${keyFlag}: ${keyNameProblem(signer.name)}`);
  return o;
}

/**
 * `checkpoint` with a signed-note key: verifies the log, recomputes the RFC 6962 root
 * from the entries' texts, checks that the stored tree agrees, and writes the C2SP
 * checkpoint as a signed note.
 */
export async function signNoteCheckpoint(o: { db: string; key: string; origin?: string; out: string; force?: boolean; json?: boolean }): Promise<void> {
  const signer = loadSigner(o.key, '--key');
  const origin = noteOrigin(signer, o.origin, '--origin', '--key');
  const db = await openLogFile(o.db);
  let text: string;
  let size: number;
  try {
    const total = new EntryLog(db).head().seq;
    const bar = progress('entries verified', total);
    const tick = ticker(bar);
    let r;
    try {
      r = verifyWithRoot(db, { onProgress: (n) => tick(n) });
    } finally {
      bar.done();
    }
    if (!r.ok) {
      process.stdout.write(`not signed: seq ${r.bad!.seq} is bad: ${r.bad!.problem}\n`);
      process.exitCode = 1;
      return;
    }
    if (r.size === 0 || !r.root) throw new CliError(`${o.db}: the log is empty, there is nothing to sign`);
    size = r.size;
    const tree = new MerkleStore(db);
    if (tree.present && tree.builtSize() >= size && !tree.root(size).equals(r.root.root)) {
      process.stdout.write(`not signed: the stored Merkle tree's root at size ${size} differs from the one recomputed from the entries (tree_nodes was altered)\n`);
      process.exitCode = 1;
      return;
    }
    text = signNote(formatCheckpoint({ origin, size, root: r.root.root }), signer);
  } finally {
    db.close();
  }
  writeOut(o.out, text, o.force, undefined, [o.db, o.key]);
  if (o.json) printJson({ origin, size, note: text });
  else process.stdout.write(`checkpoint ${o.out}: ${origin} size ${size}, signed by ${signer.name}\n`);
}
