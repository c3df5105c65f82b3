import type { Command } from 'commander';
import { openExisting, printJson } from './common.js';
import { fmtState } from './format.js';

export function registerState(program: Command): void {
  program
    .command('state')
    .description('print the current state: vms, containers, vfio_mms (mm, refs, quota, PASIDs), capacity_avail')
    .requiredOption('--db <path>', 'the SQLite log')
    .option('--vm <vm>', 'only this vm, its containers and its vfio_mm')
    .option('--json', 'print JSON')
    .action(async (o: { db: string; vm?: string; json?: boolean }) => {
      const ledger = await openExisting(o.db);
      try {
        const v = ledger.view(o.vm);
        if (o.json) printJson(v);
        else process.stdout.write(fmtState(v) + '\n');
      } finally {
        ledger.close();
      }
    });
}
