import type { Command } from 'commander';
import { explain, type RequestExplanation } from '../replay/explain.js';
import { intArg, printJson } from './common.js';
import { answering, openLogFile } from './open_log.js';

export function registerExplain(program: Command): void {
  program
    .command('explain')
    .description('why an entry is what it is: for a request, what was asked, what the caller saw and the facts that decided it; for a transition, the request that caused it')
    .requiredOption('--db <path>', 'the SQLite log')
    .requiredOption('--seq <n>', 'the entry to explain', intArg('--seq'))
    .option('--json', 'print JSON')
    .action(async (o: { db: string; seq: number; json?: boolean }) => {
      const db = await openLogFile(o.db);
      try {
        const x = await answering(() => explain(db, o.seq));
        if (o.json) {
          printJson(x);
          return;
        }
        const lines: string[] = [];
        if (x.type === 'request') lines.push(...requestLines(x));
        else if (x.type === 'transition') {
          lines.push(x.summary);
          if (x.cause) lines.push('', 'the request that caused it:', ...requestLines(x.cause).map((l) => `  ${l}`));
        } else lines.push(x.summary);
        process.stdout.write(lines.join('\n') + '\n');
      } finally {
        db.close();
      }
    });
}

function requestLines(x: RequestExplanation): string[] {
  const out = [x.summary, `  at ${x.at}`, `  why: ${x.why}`, '  facts just before it:'];
  for (const [k, v] of Object.entries(x.facts)) out.push(`    ${k}: ${JSON.stringify(v)}`);
  if (x.transitions.length > 0) {
    out.push(`  caused ${x.transitions.length} transition(s):`);
    const shown = x.transitions.slice(0, 20);
    for (const t of shown) out.push(`    seq ${t.seq}: ${t.machine} ${t.event} ${t.from} → ${t.to}`);
    if (x.transitions.length > shown.length) out.push(`    … ${x.transitions.length - shown.length} more`);
  } else out.push('  caused no transition');
  return out;
}
