import type { Command } from 'commander';
import { buildBundle, type BundleRefusal } from '../replay/bundle.js';
import { escapeControls } from '../text/escape.js';
import type { Bundle } from '../tlog/bundle.js';
import { parseCheckpoint, type CheckpointBody } from '../tlog/checkpoint.js';
import { parseNote, type Note } from '../tlog/note.js';
import { CliError, intArg } from './common.js';
import { readText } from './note_keys.js';
import { answering, openLogFile } from './open_log.js';
import { writeOut } from './write_out.js';

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
      const note = readText(o.checkpoint, 'checkpoint');
      const db = await openLogFile(o.db);
      let bundle: Bundle | BundleRefusal;
      try {
        bundle = await answering(() => buildBundle(db, note, from, to));
      } finally {
        db.close();
      }
      if (!('format' in bundle)) {
        // A log whose root is not the checkpoint's is a finding (exit 1), the rest bad input (exit 2).
        if (bundle.kind !== 'root') throw new CliError(bundle.kind === 'checkpoint' ? `${o.checkpoint}: ${bundle.problem}` : bundle.problem);
        process.stdout.write(`not written: ${bundle.problem}\n`);
        process.exitCode = 1;
        return;
      }
      const cp = parseCheckpoint((parseNote(note) as Note).text) as CheckpointBody;
      writeOut(o.out, JSON.stringify(bundle, null, 1) + '\n', o.force, undefined, [o.db, o.checkpoint]);
      process.stdout.write(escapeControls(`bundle ${o.out}: entries ${from}–${to} with proofs against ${cp.origin} size ${cp.size}`) + '\n');
    });
}
