import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { explainAll, explainLogs } from './explain_logs.js';
import { CLI } from './helpers.js';

/**
 * `explain` prints, for every seq of five logs built with a stepping clock (the demo, the
 * guest story under v1/hidden and v7/exposed, PASID requests under v1 and v7), exactly
 * the bytes it printed when the golden digests were taken (text and --json). Regenerate
 * them only for an intended change: `npm run build && node dist/test/explain_dump.js --sha test/fixtures/explain`.
 */
const test = suite('explain_golden');
const FIXTURES = fileURLToPath(new URL('../../test/fixtures/explain/', import.meta.url));
const digest = (s: string) => createHash('sha256').update(s).digest('hex');
const logs = await explainLogs();

for (const { name, path } of logs) {
  test(`${name}: every seq explains as the golden digests say, text and --json`, async () => {
    const golden = JSON.parse(readFileSync(`${FIXTURES}${name}.json`, 'utf8')) as Array<{ seq: number; text: string; json: string }>;
    const all = await explainAll(path);
    assert.is(all.length, golden.length, `${name}: number of entries`);
    assert.ok(all.length > 20);
    for (const [i, x] of all.entries()) {
      const g = golden[i]!;
      assert.is(x.seq, g.seq);
      if (digest(x.text) !== g.text) assert.unreachable(`${name} seq ${x.seq}: the text differs; it now reads:\n${x.text}`);
      if (digest(x.json) !== g.json) assert.unreachable(`${name} seq ${x.seq}: the --json differs; it now reads:\n${x.json}`);
    }
  });
}

test('the CLI prints what the golden suite compares (text and --json of a request and a transition)', async () => {
  const { path } = logs.find((l) => l.name === 'demo')!;
  const all = await explainAll(path);
  for (const seq of [30, 31]) {
    const x = all[seq - 1]!;
    assert.is(execFileSync(process.execPath, [CLI, 'explain', '--db', path, '--seq', String(seq)], { encoding: 'utf8' }), x.text);
    assert.is(execFileSync(process.execPath, [CLI, 'explain', '--db', path, '--seq', String(seq), '--json'], { encoding: 'utf8' }), x.json);
  }
});

test.run();
