import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runBench } from '../bench/run.js';
import { renderMarkdown, renderReport } from '../bench/table.js';

const s = suite('bench_smoke');

/** Every figure the benchmark must report (issue 5), by row id. */
const ROWS = ['durable', 'batch', 'tree_append', 'tree_append_durable', 'replay', 'replay_verify', 'audit', 'proofs', 'tree_migration', 'in_memory', 'memory', 'reopen', 'reopen_cold', 'alloc_fill', 'alloc_churn', 'cli_help', 'cli_state', 'explore_state', 'explore_startup', 'ship', 'ship_vs_copy', 'fleet_bytes', 'fleet_audit', 'fleet_race', 'serve-1', 'serve-8', 'serve-64', 'serve-64-vs-direct', 'serve-64-p50', 'serve-64-p99'];
const WITH_CEILING = ['durable', 'batch', 'tree_append', 'tree_append_durable', 'replay', 'replay_verify', 'audit', 'ship', 'ship_vs_copy', 'fleet_audit'];
/** Measured once per run: a size, and 9 shippers racing (its verdict is the point). */
const ONCE = ['fleet_bytes', 'fleet_race'];

s('the quick bench runs and reports every row with numbers', async () => {
  const lines: string[] = [];
  const rep = await runBench({ quick: true, log: (l) => lines.push(l) });
  assert.equal(rep.rows.map((r) => r.id), ROWS);
  for (const r of rep.rows) {
    assert.ok(typeof r.value === 'number' && Number.isFinite(r.value) && r.value > 0, `${r.id}: value ${r.value}`);
    assert.ok(r.runs.length >= (ONCE.includes(r.id) ? 1 : 3) && r.runs.every((x) => Number.isFinite(x) && x > 0), `${r.id}: at least 3 runs`);
    if (r.id === 'fleet_race') assert.ok(r.pass, r.note);
    assert.not.match(r.note, /TODO/, `${r.id} is measured`);
    if (WITH_CEILING.includes(r.id)) {
      assert.ok(typeof r.ceiling === 'number' && r.ceiling > 0 && r.ceiling_runs.length >= 3, `${r.id}: a ceiling measured beside it`);
      assert.ok(Math.abs(r.ratio! - r.value / r.ceiling) < 1e-9, `${r.id}: ratio = value / ceiling`);
    }
    if (r.target.kind !== 'none') assert.type(r.pass, 'boolean', `${r.id}: judged against its target`);
  }
  assert.ok(rep.machine.cores >= 1 && rep.machine.cpu.length > 0 && rep.machine.node === process.version);
  assert.ok(rep.big_log !== null && rep.big_log.entries >= rep.sizes.bigLogEntries, 'the big log has the entries asked for');
  assert.ok(lines.length > 10, 'progress was reported');
  const text = renderReport(rep);
  for (const r of rep.rows) assert.ok(text.includes(r.figure), `the table shows ${r.id}`);
  assert.match(text, /machine: .+cores/);
  assert.is(renderMarkdown(rep).split('\n').filter((l) => l.startsWith('| ')).length, ROWS.length + 1);
  assert.equal(JSON.parse(JSON.stringify(rep)).rows.length, ROWS.length, 'the report is plain JSON');
});

s('--only measures just the groups asked for, and builds no big log when none needs it', async () => {
  const rep = await runBench({ quick: true, only: ['in_memory', 'allocator'], log: () => {} });
  assert.ok(rep.rows.length > 0);
  assert.ok(rep.rows.every((r) => r.id === 'in_memory' || r.id.startsWith('alloc_')), rep.rows.map((r) => r.id).join(','));
  assert.is(rep.big_log, null);
});

s.run();
