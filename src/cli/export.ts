import type { Command } from 'commander';
import { verifyLog, type LogVerification } from '../replay/verify.js';
import { openLogFile } from './open_log.js';
import { checkOutFile, writeOutFile } from './out_file.js';

const HELP = `
The copy is one self-contained SQLite file in rollback-journal (DELETE) mode: it
needs no -wal or -shm file, so it can be read where nobody may write (a read-only
directory, a mode 444 file, an evidence share). It is taken with SQLite's online
backup API from a consistent snapshot, while writers may keep writing to the log,
and the copy is verified (every leaf and chain recomputed). A log that does not
verify is copied all the same (the copy is the evidence), with exit status 1.

Exit status: 0 written and verified, 1 written but it does not verify, 2 bad input.

Example:
  pasid-ledger export --db ./pasid-ledger.db --out /srv/audit/host-2026-12-01.db
  pasid-ledger verify --db /srv/audit/host-2026-12-01.db`;

export function registerExport(program: Command): void {
  program
    .command('export')
    .description('copy the log into one self-contained file (no -wal/-shm) to hand to an auditor')
    .requiredOption('--db <path>', 'the SQLite log (opened read-only)')
    .requiredOption('--out <file>', 'the copy to write (an existing file only with --force; never the log)')
    .option('--force', 'replace an existing --out file')
    .addHelpText('after', HELP)
    .action(async (o: { db: string; out: string; force?: boolean }) => {
      const outOpts = { force: o.force ?? false, protect: [o.db] };
      checkOutFile(o.out, outOpts);
      const { default: Database } = await import('better-sqlite3');
      const src = await openLogFile(o.db);
      let r: LogVerification | undefined;
      try {
        await writeOutFile(o.out, async (tmp) => {
          await src.backup(tmp);
          const copy = new Database(tmp);
          try {
            copy.pragma('journal_mode = DELETE');
            r = verifyLog(copy);
          } finally {
            copy.close();
          }
        }, outOpts);
      } finally {
        src.close();
      }
      // A log that does not verify is copied all the same: the copy is the evidence.
      process.stdout.write(r!.ok
        ? `exported ${r!.size} entries of ${o.db} to ${o.out} (one file, rollback-journal mode); the copy verifies\n`
        : `exported ${r!.entries} entries of ${o.db} to ${o.out}; the copy does NOT verify: seq ${r!.bad!.seq} is bad: ${r!.bad!.problem}\n`);
      process.exitCode = r!.ok ? 0 : 1;
    });
}
