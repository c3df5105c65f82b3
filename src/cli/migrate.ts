import type { Command } from 'commander';
import { MerkleStore } from '../store/tree.js';
import { existsSync } from 'node:fs';
import { migrateToLatest } from '../store/migrate.js';
import { holdsLog, openDatabase } from '../store/open.js';
import { CliError } from './common.js';
import { ticker } from './open_log.js';
import { progress } from './progress.js';

export function registerMigrate(program: Command): void {
  program
    .command('migrate')
    .description("bring a log's schema up to date and build its Merkle tree (for logs written before proofs existed): resumable, progress on a terminal")
    .requiredOption('--db <path>', 'the SQLite log (opened for writing)')
    .action(async (o: { db: string }) => {
      if (!existsSync(o.db)) throw new CliError(`${o.db}: no such file`);
      const db = openDatabase(o.db, { mustExist: true });
      try {
        // Only a log is migrated: another database is refused, and left as it was.
        if (!holdsLog(db)) throw new CliError(`${o.db} holds no pasid-ledger log`);
        await migrateToLatest(db, o.db);
        const tree = new MerkleStore(db);
        const total = tree.logSize();
        const bar = progress('leaves built into the Merkle tree', Math.max(0, total - tree.builtSize()));
        const start = tree.builtSize();
        const tick = ticker(bar);
        const r = tree.catchUp((built) => tick(built - start));
        bar.done();
        process.stdout.write(r.to > r.from ? `${o.db}: Merkle tree built for entries ${r.from + 1} to ${r.to}\n` : `${o.db}: up to date (${total} entries, tree complete)\n`);
      } finally {
        db.close();
      }
    });
}
