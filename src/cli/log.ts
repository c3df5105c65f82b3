import type { Command } from 'commander';
import { streamEntries } from '../replay/entries.js';
import { intArg, openExisting } from './common.js';
import { fmtEntry } from './format.js';
import { jsonText } from '../text/escape.js';

export function registerLog(program: Command): void {
  program
    .command('log')
    .description('print the log entries, oldest first')
    .requiredOption('--db <path>', 'the SQLite log')
    .option('--vm <vm>', "only this vm's requests, the transitions they caused and its own transitions")
    .option('--pasid <n>', 'only entries naming this PASID', intArg('--pasid', 0xffffffff))
    .option('--mm <token>', 'only entries naming this mm token')
    .option('--container <id>', 'only entries naming this container')
    .option('--type <type>', 'only config, request or transition entries')
    .option('--from <seq>', 'from this seq', intArg('--from'))
    .option('--to <seq>', 'up to this seq', intArg('--to'))
    .option('--limit <n>', 'at most n entries', intArg('--limit'))
    .option('--json', 'print one JSON entry per line (the stored canonical objects)')
    .action(async (o: { db: string; vm?: string; pasid?: number; mm?: string; container?: string; type?: string; from?: number; to?: number; limit?: number; json?: boolean }) => {
      const ledger = await openExisting(o.db);
      try {
        let lines: string[] = [];
        for await (const e of streamEntries(ledger.db, o)) {
          lines.push(o.json ? jsonText(e) : fmtEntry(e));
          if (lines.length === 1000) { process.stdout.write(lines.join('\n') + '\n'); lines = []; }
        }
        if (lines.length) process.stdout.write(lines.join('\n') + '\n');
      } finally {
        ledger.close();
      }
    });
}
