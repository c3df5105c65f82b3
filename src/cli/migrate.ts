import type { Command } from 'commander';
import { MerkleStore } from '../store/tree.js';
import { openLogFile, ticker } from './open_log.js';
import { progress } from './progress.js';

export function registerMigrate(program: Command): void {
  program
    .command('migrate')
    .description("bring a log's schema up to date and build its Merkle tree (for logs written before proofs existed): resumable, progress on a terminal")
    .requiredOption('--db <path>', 'the SQLite log (opened for writing)')
    .action(async (o: { db: string }) => {
      const db = await openLogFile(o.db);
      try {
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
