import type { Command } from 'commander';
import { inclusionProof } from '../replay/proofs.js';
import { EntryLog } from '../store/log.js';
import { BUNDLE_FORMAT, type Bundle } from '../tlog/bundle.js';
import { CliError, intArg } from './common.js';
import { answering, openLogFile } from './open_log.js';
import { loadNoteCheckpoint } from './prove.js';
import { writeOut } from './write_out.js';

/** Entries per bundle: enough for an incident, small enough to read. */
const MAX_ENTRIES = 100_000;

export function registerBundle(program: Command): void {
  program
    .command('bundle')
    .description("one self-contained JSON file for an auditor: entries' exact texts, their inclusion proofs, the signed checkpoint (check it with verify-bundle, no database needed)")
    .requiredOption('--db <path>', 'the SQLite log (opened read-only)')
    .option('--seq <n>', 'one entry', intArg('--seq'))
    .option('--from <a>', 'first entry of a range', intArg('--from'))
    .option('--to <b>', 'last entry of a range', intArg('--to'))
    .requiredOption('--checkpoint <file>', 'a C2SP checkpoint (from "checkpoint --key" with a keygen --name key) that covers the entries')
    .requiredOption('--out <file>', 'where to write the bundle')
    .option('--force', 'replace an existing --out file')
    .addHelpText('after', '\nExit status: 0 written, 1 when the log\'s root differs from the checkpoint\'s, 2 for bad input.')
    .action(async (o: { db: string; seq?: number; from?: number; to?: number; checkpoint: string; out: string; force?: boolean }) => {
      const range = o.seq !== undefined ? (o.from !== undefined || o.to !== undefined ? null : [o.seq, o.seq]) : o.from !== undefined && o.to !== undefined ? [o.from, o.to] : null;
      if (!range) throw new CliError('give --seq N, or --from A --to B');
      const [from, to] = range as [number, number];
      if (from < 1 || to < from) throw new CliError(`--from ${from} --to ${to}: need 1 <= from <= to`);
      if (to - from + 1 > MAX_ENTRIES) throw new CliError(`at most ${MAX_ENTRIES} entries per bundle`);
      const cp = loadNoteCheckpoint(o.checkpoint);
      if (to > cp.size) throw new CliError(`entry ${to} is not covered by the checkpoint (size ${cp.size}): sign a newer checkpoint`);
      const db = await openLogFile(o.db);
      let bundle: Bundle;
      try {
        const log = new EntryLog(db);
        if (cp.size > log.head().seq) throw new CliError(`the checkpoint has size ${cp.size}, the log only ${log.head().seq} entries (it was cut back, or this is another log)`);
        if (!log.tree.root(cp.size).equals(cp.root)) {
          process.stdout.write(`not written: the log's root at size ${cp.size} is not the checkpoint's (the log was rewritten, or this is another log's checkpoint)\n`);
          process.exitCode = 1;
          return;
        }
        // One read snapshot for the texts and all their proofs.
        const entries: Bundle['entries'] = await answering(() => log.tree.snapshot(() =>
          [...log.range(from - 1, to)].map((row) => ({ seq: row.seq, entry: row.entry, proof: inclusionProof(log.tree, row.seq, cp.size).hashes }))));
        bundle = { format: BUNDLE_FORMAT, checkpoint: cp.note, entries };
      } finally {
        db.close();
      }
      writeOut(o.out, JSON.stringify(bundle, null, 1) + '\n', o.force, undefined, [o.db, o.checkpoint]);
      process.stdout.write(`bundle ${o.out}: entries ${from}–${to} with proofs against ${cp.origin} size ${cp.size}\n`);
    });
}
