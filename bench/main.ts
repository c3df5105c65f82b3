/**
 * `npm run bench [-- --quick] [-- --json] [-- --markdown]`: the benchmark. Prints the
 * table (or the report as JSON with --json, or a Markdown table with --markdown) on
 * stdout and its progress on stderr.
 */
import { runBench } from './run.js';
import { renderMarkdown, renderReport } from './table.js';

const args = new Set(process.argv.slice(2));
const known = new Set(['--quick', '--json', '--markdown', '--help', '-h']);
const unknown = [...args].filter((a) => !known.has(a));
if (args.has('--help') || args.has('-h') || unknown.length > 0) {
  if (unknown.length > 0) process.stderr.write(`bench: unknown option ${unknown[0]}\n`);
  process.stdout.write('usage: node dist/bench/main.js [--quick] [--json] [--markdown]\n'
    + '  --quick     small sizes: a smoke test of a few seconds\n'
    + '  --json      print the report object as JSON instead of the table\n'
    + '  --markdown  also print the table as Markdown\n');
  process.exit(unknown.length > 0 ? 2 : 0);
}

const report = await runBench({ quick: args.has('--quick'), log: (l) => process.stderr.write(`${l}\n`) });
if (args.has('--json')) {
  process.stdout.write(JSON.stringify(report, null, 2) + '\n');
} else {
  process.stdout.write(renderReport(report));
  if (args.has('--markdown')) process.stdout.write('\n' + renderMarkdown(report));
}
