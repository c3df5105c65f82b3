import { Option, type Command } from 'commander';
import { auditLog } from '../audit/audit_log.js';
import { CSV_HELP, formatCsv } from '../audit/format_csv.js';
import { formatHtml } from '../audit/format_html.js';
import { formatText } from '../audit/format_text.js';
import type { AuditReport } from '../audit/report.js';
import { EntryLog } from '../store/log.js';
import { openLogFile } from './open_log.js';
import { checkOutFile, writeOutFile } from './out_file.js';
import { escapeControls, jsonText, showName } from '../text/escape.js';
import { progress } from './progress.js';

type Format = 'text' | 'json' | 'csv' | 'html';

const RENDER: Record<Format, (r: AuditReport) => string> = {
  text: formatText,
  json: (r) => jsonText(r, 2) + '\n',
  csv: formatCsv,
  html: formatHtml,
};

const HELP = `
Checks every invariant of docs/kernel-behaviour.md section 8 at every entry of the log,
plus the structural checks: S1-S3 (causes, transitions from the machine's state, well-formed
entries), S4 (every row's leaf and chain recomputed from entry 1: an entry edited
without rehashing is named by seq; skipped with --no-verify, and the report then says
loudly that the chain head it prints was NOT checked), S5 (an entry earlier in time
than the one before it: the writer's clock went back; this fails the audit, as the log
promises its order is the order in time), S6 (every request re-decided against the
state before it: its outcome, and exactly the transitions it must cause; an accepted
ALLOC with no ALLOC transition, a rejected request with one), S7 (every snapshot entry's
digest is the state the log builds). Names the first entry that breaks each; reports
quotas per vm and per vfio_mm and the kernel quirks hit. Quirks alone do not fail the audit.

Exit status: 0 every invariant holds, 1 at least one is broken, 2 bad input or unusable db.

Formats: text (tables), json (the full report object), csv (below), html (one
self-contained page with a chart of PASIDs held per vm and the tables; opens offline).

${CSV_HELP}

Examples:
  pasid-ledger audit --db ./pasid-ledger.db
  pasid-ledger audit --db ./pasid-ledger.db --format html --out audit.html
  pasid-ledger audit --db ./pasid-ledger.db --format json | jq '.invariants[] | select(.holds == false)'`;

export function registerAudit(program: Command): void {
  program
    .command('audit')
    .description('check every invariant at every entry of the log; quota report per vm and vfio_mm; kernel quirks hit')
    .requiredOption('--db <path>', 'the SQLite log')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json', 'csv', 'html']).default('text'))
    .option('--out <file>', 'write the report to this file instead of stdout (an existing file only with --force; never the log)')
    .option('--force', 'with --out: replace an existing file')
    .option('--no-verify', 'do not recompute the hash chain (check S4): faster; the report says the chain was not checked')
    .addHelpText('after', HELP)
    .action(async (o: { db: string; format: Format; out?: string; force?: boolean; verify: boolean }) => {
      const outOpts = { force: o.force ?? false, protect: [o.db] };
      if (o.out !== undefined) checkOutFile(o.out, outOpts);
      const db = await openLogFile(o.db);
      let report: AuditReport;
      try {
        const log = new EntryLog(db);
        const bar = progress('entries', log.head().seq);
        let seen = 0;
        try {
          report = auditLog(log, { noVerify: !o.verify, onProgress: (done) => { bar.tick(done - seen); seen = done; } });
        } finally {
          bar.done();
        }
      } finally {
        db.close();
      }
      if (!report.chain_checked) process.stderr.write('pasid-ledger: warning: --no-verify: the hash chain was NOT checked (check S4 skipped); an entry edited without rehashing goes unnoticed\n');
      const text = RENDER[o.format](report);
      if (o.out === undefined) {
        process.stdout.write(text);
      } else {
        await writeOutFile(o.out, text, outOpts);
        const broken = report.invariants.filter((i) => !i.holds);
        process.stdout.write(escapeControls(`${report.ok ? 'every invariant holds' : `${broken.length} invariant(s) broken: ${broken.map((i) => `${i.id} at seq ${i.first!.seq}`).join(', ')}`} (${report.entries} entries); ${o.format} report written to ${showName(o.out)}`) + '\n');
      }
      process.exitCode = report.ok ? 0 : 1;
    });
}
