/**
 * `npm run bench [-- --quick] [-- --json] [-- --markdown] [-- --only GROUP[,GROUP...]]`: the
 * benchmark. Prints the table (or the report as JSON with --json, or a Markdown table with
 * --markdown) on stdout and its progress on stderr. `--only` measures some groups of rows.
 */
import { BENCH_GROUPS, runBench, type BenchGroup } from './run.js';
import { renderMarkdown, renderReport } from './table.js';

const argv = process.argv.slice(2);
const flags = new Set<string>();
let only: BenchGroup[] | undefined;
let bad: string | undefined;
for (let i = 0; i < argv.length; i++) {
  const a = argv[i]!;
  const value = a.startsWith('--only=') ? a.slice('--only='.length) : a === '--only' ? argv[++i] : undefined;
  if (a === '--only' || a.startsWith('--only=')) {
    const groups = (value ?? '').split(',').filter((g) => g !== '');
    const wrong = groups.find((g) => !(BENCH_GROUPS as readonly string[]).includes(g));
    if (groups.length === 0 || wrong !== undefined) bad ??= `--only: unknown group ${JSON.stringify(wrong ?? '')}`;
    else only = groups as BenchGroup[];
  } else if (['--quick', '--json', '--markdown', '--help', '-h'].includes(a)) {
    flags.add(a);
  } else {
    bad ??= `unknown option ${JSON.stringify(a)}`;
  }
}
if (flags.has('--help') || flags.has('-h') || bad !== undefined) {
  if (bad !== undefined) process.stderr.write(`bench: ${bad}\n`);
  process.stdout.write('usage: node dist/bench/main.js [--quick] [--json] [--markdown] [--only GROUP[,GROUP...]]\n'
    + '  --quick     small sizes: a smoke test of a few seconds\n'
    + '  --json      print the report object as JSON instead of the table\n'
    + '  --markdown  also print the table as Markdown\n'
    + `  --only      measure only these groups of rows: ${BENCH_GROUPS.join(', ')}\n`);
  process.exit(bad !== undefined ? 2 : 0);
}

const report = await runBench({ quick: flags.has('--quick'), only, log: (l) => process.stderr.write(`${l}\n`) });
if (flags.has('--json')) {
  process.stdout.write(JSON.stringify(report, null, 2) + '\n');
} else {
  process.stdout.write(renderReport(report));
  if (flags.has('--markdown')) process.stdout.write('\n' + renderMarkdown(report));
}
