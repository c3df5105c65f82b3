import type { Command } from 'commander';
import { consistencyProof, inclusionProof } from '../replay/proofs.js';
import { MerkleStore } from '../store/tree.js';
import { parseCheckpoint } from '../tlog/checkpoint.js';
import { parseNote } from '../tlog/note.js';
import { CliError, intArg, printJson } from './common.js';
import { readText } from './note_keys.js';
import { answering, openLogFile } from './open_log.js';

/** A C2SP checkpoint file's note text and body (signature not checked here: the proof's reader checks it). */
export function loadNoteCheckpoint(file: string): { note: string; size: number; root: Buffer; origin: string } {
  const note = readText(file, 'checkpoint');
  const n = parseNote(note);
  if (typeof n === 'string') throw new CliError(`${file}: not a C2SP checkpoint: ${n}`);
  const cp = parseCheckpoint(n.text);
  if (typeof cp === 'string') throw new CliError(`${file}: ${cp}`);
  return { note, size: cp.size, root: cp.root, origin: cp.origin };
}

export function registerProve(program: Command): void {
  program
    .command('prove')
    .description('an RFC 6962 inclusion proof of entry --seq, or a consistency proof from --old-size, from the stored Merkle tree (O(log n) reads)')
    .requiredOption('--db <path>', 'the SQLite log (opened read-only)')
    .option('--seq <n>', 'the entry to prove included', intArg('--seq'))
    .option('--old-size <a>', 'prove that the tree of this size is a prefix of the tree of --size', intArg('--old-size'))
    .option('--size <m>', 'the tree size (default: the whole log)', intArg('--size'))
    .option('--checkpoint <file>', 'a C2SP checkpoint: prove against its size (and check its root is the log\'s); the text proof then carries it')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nWithout --json, an inclusion proof is printed as C2SP tlog-proof text. Exit status: 0,\n1 when the log\'s root differs from the --checkpoint\'s, 2 for bad input.')
    .action(async (o: { db: string; seq?: number; oldSize?: number; size?: number; checkpoint?: string; json?: boolean }) => {
      if ((o.seq === undefined) === (o.oldSize === undefined)) throw new CliError('give exactly one of --seq (inclusion) or --old-size (consistency)');
      if (o.size !== undefined && o.checkpoint !== undefined) throw new CliError('give --size or --checkpoint, not both');
      const cp = o.checkpoint === undefined ? null : loadNoteCheckpoint(o.checkpoint);
      const db = await openLogFile(o.db);
      try {
        const tree = new MerkleStore(db);
        const size = cp?.size ?? o.size ?? tree.logSize();
        if (cp && size <= tree.logSize() && !tree.root(size).equals(cp.root)) {
          process.stdout.write(`the log's root at size ${size} is not the checkpoint's: the log was rewritten (run verify --checkpoint)\n`);
          process.exitCode = 1;
          return;
        }
        if (o.seq !== undefined) {
          const p = await answering(() => inclusionProof(tree, o.seq!, size));
          if (o.json) printJson(p);
          else process.stdout.write(`c2sp.org/tlog-proof@v1\nindex ${p.index}\n${p.hashes.map((h) => h + '\n').join('')}${cp ? `\n${cp.note}` : ''}`);
          if (!o.json && !cp) process.stderr.write('pasid-ledger: no --checkpoint: the proof is printed without the checkpoint a complete tlog-proof ends with\n');
        } else {
          const p = await answering(() => consistencyProof(tree, o.oldSize!, size));
          if (o.json) printJson(p);
          else process.stdout.write(`old_size ${p.old_size}\ntree_size ${p.tree_size}\nold_root ${p.old_root}\nroot ${p.root}\n${p.hashes.map((h) => h + '\n').join('')}`);
        }
      } finally {
        db.close();
      }
    });
}
