import type { Command } from 'commander';
import { explain, type Explanation, type RequestExplanation } from '../replay/explain.js';
import { safeLines, showName as n } from '../text/escape.js';
import { intArg, printJson } from './common.js';
import { fmtHex } from './format.js';
import { answering, openLogFile } from './open_log.js';

export function registerExplain(program: Command): void {
  program
    .command('explain')
    .description('why an entry is what it is: for a request, what was asked, what the caller saw and the facts that decided it; for a transition, the request that caused it')
    .addHelpText('after', `\nFor the guest's entries it also shows the guest's side: vcmd_write (the command decoded,\nQEMU's walk over the vm's containers with each try's outcome, the VCRSP decoded),\nvcmd_read (the VCRSP decoded and the write that left it), config_read / config_write\n(where the access lands, whether the PASID capability there is hidden or exposed, what\nthe guest saw, a dropped write) and get_info (the capability chain decoded).`)
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
        process.stdout.write(explainText(x) + '\n');
      } finally {
        db.close();
      }
    });
}

/**
 * What `explain` prints without `--json`: the explanation's lines, control characters
 * escaped (safeLines), without the final newline. Never fails.
 *
 * @example
 * explainText(explain(db, 1)); // "seq 1: the host's configuration: profile v1, ..."
 */
export function explainText(x: Explanation): string {
  const lines: string[] = [];
  if (x.type === 'request') lines.push(...requestLines(x));
  else if (x.type === 'transition') {
    lines.push(x.summary);
    if (x.cause) lines.push('', 'the request that caused it:', ...requestLines(x.cause).map((l) => `  ${l}`));
  } else lines.push(x.summary);
  return safeLines(lines);
}

function requestLines(x: RequestExplanation): string[] {
  const out = [x.summary, `  at ${x.at}`, `  why: ${x.why}`];
  if (x.guest) {
    out.push(x.guest.kind === 'get_info' ? '  the reply, decoded:' : '  the guest\'s side:');
    for (const l of x.guest.said) out.push(`    ${l}`);
    if (x.guest.kind === 'vcmd_write' && x.guest.walk.length > 0) {
      out.push('    containers of the vm, in open order:');
      for (const w of x.guest.walk) {
        const t = x.guest.tries.find((y) => y.container === w.container);
        const outcome = t ? `asked: ret ${t.ret}${t.errno ? ` (${t.errno})` : ''}${t.reason ? ` ${t.reason}` : ''}${t.pasid !== null ? ` pasid ${t.pasid}` : ''}` : 'not asked';
        out.push(`      ${n(w.container)}  ${w.state}${w.iommu_type ? ` ${w.iommu_type}` : ''}  ${w.takes_pasid_requests ? 'takes PASID requests' : 'takes no PASID requests'}  ${outcome}`);
      }
    }
    if ((x.guest.kind === 'config_read' || x.guest.kind === 'config_write') && x.guest.access) {
      for (const c of x.guest.access.chunks) out.push(`    chunk ${fmtHex(c.offset)}/${c.size}: ${c.region}${c.pasid_register ? ` (PASID ${c.pasid_register})` : ''}: ${c.handling}`);
    }
  }
  out.push('  facts just before it:');
  for (const [k, v] of Object.entries(x.facts)) out.push(`    ${k}: ${JSON.stringify(v)}`);
  if (x.transitions.length > 0) {
    out.push(`  caused ${x.transitions.length} transition(s):`);
    const shown = x.transitions.slice(0, 20);
    for (const t of shown) out.push(`    seq ${t.seq}: ${t.machine} ${t.event} ${t.from} → ${t.to}`);
    if (x.transitions.length > shown.length) out.push(`    … ${x.transitions.length - shown.length} more`);
  } else out.push('  caused no transition');
  return out;
}
