import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CliError } from '../src/cli/common.js';
import { parseRequestFile } from '../src/cli/run.js';
import { openLedger } from '../src/ledger.js';
import { CLI, tmpDir } from './helpers.js';

/*
 * `pasid-ledger run FILE` checks every line before it applies any: a bad line late in
 * a long file is exit 2 naming the line, and the log is left byte for byte as it was.
 * Before the fix, a lone surrogate on line 1,502 failed inside the second chunk's
 * append: exit 70 with a stack trace, the first 1,000 lines committed.
 */

const T = suite('run_all_or_nothing');

function cli(args: string[], input?: string) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', input, maxBuffer: 64 << 20 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** 1,500 good lines: a vm, then 1,499 register reads. */
function goodLines(): string[] {
  const lines = ['{"op":"vm_start","vm":"v","mm":"0x1"}'];
  for (let i = 1; i < 1500; i++) lines.push('{"op":"vcmd_read","vm":"v"}');
  return lines;
}

/** A log with a few entries already, so "nothing applied" is checked against a non-empty file. */
async function existingLog(dir: string): Promise<string> {
  const db = join(dir, 'log.db');
  const l = await openLedger(db);
  l.request({ op: 'vm_start', vm: 'pre', mm: '0x9' });
  l.close();
  return db;
}

async function refusedFile(label: string, bad: string, why: RegExp): Promise<void> {
  const dir = tmpDir();
  const db = await existingLog(dir);
  const bytes = readFileSync(db);
  const file = join(dir, 'reqs.jsonl');
  writeFileSync(file, [...goodLines(), bad, '{"op":"vm_exit","vm":"v"}'].join('\n') + '\n');
  const r = cli(['run', file, '--db', db]);
  assert.is(r.code, 2, `${label}: exit 2, not ${r.code}: ${r.err.slice(0, 300)}`);
  assert.is(r.out, '', `${label}: no outcome printed`);
  assert.match(r.err, new RegExp(`^pasid-ledger: .*reqs\\.jsonl:1501: `), label);
  assert.match(r.err, why, label);
  assert.match(r.err, /nothing was applied\n$/, label);
  assert.is(r.err.split('\n').length, 2, `${label}: one line, no stack trace`);
  assert.ok(r.err.length < 600, `${label}: a short message (${r.err.length})`);
  assert.ok(readFileSync(db).equals(bytes), `${label}: the log is byte for byte as it was`);
  const l = await openLedger(db);
  assert.is(l.head().seq, 3, label);
  l.close();
}

T('a line nested 100,000 deep after 1,500 good lines: exit 2 naming it, nothing applied', async () => {
  const deep = '['.repeat(100_000) + ']'.repeat(100_000);
  await refusedFile('deep op', `{"op":${deep}}`, /nested deeper/);
  await refusedFile('deep spec', `{"op":"device_add","group":"g","bdf":"0000:00:00.0","ecaps_before":${deep}}`, /nested deeper/);
  await refusedFile('deep object', `{"op":"vm_exit","vm":"v","id":${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}}`, /nested deeper/);
});

T('a lone surrogate after 1,500 good lines: exit 2 naming it, nothing applied', async () => {
  await refusedFile('surrogate name', '{"op":"vm_start","vm":"\\ud800","mm":"2"}', /"vm" holds a lone UTF-16 surrogate/);
  await refusedFile('surrogate id', '{"op":"vm_exit","vm":"v","id":"\\udfff"}', /"id" holds a lone/);
});

T('a 10 MB value or field name in a line is not echoed', async () => {
  const big = 'y'.repeat(10_000_000);
  await refusedFile('10 MB field name', `{"op":"vm_exit","vm":"v","${big}":1}`, /unknown field "y+…"/);
  await refusedFile('10 MB op', `{"op":"${big}"}`, /unknown op "y+…/);
  await refusedFile('10 MB type', `{"op":"set_iommu","container":"c","type":"${big}"}`, /longer than 256/);
});

T('a request id reused for a different request, against the log or within the file: exit 2, nothing applied', async () => {
  const dir = tmpDir();
  const db = await existingLog(dir);
  const l = await openLedger(db);
  assert.is(l.request({ op: 'vm_start', vm: 'pre2', mm: '0x8', id: 'logged' }).seq, 4);
  l.close();
  const bytes = readFileSync(db);
  const file = join(dir, 'ids.jsonl');
  const good = goodLines();
  // Before the fix, the first 1,000 lines were applied before line 1,201 was refused.
  writeFileSync(file, [...good.slice(0, 1200), '{"op":"vm_start","vm":"other","mm":"0x4","id":"logged"}', ...good.slice(1200)].join('\n'));
  let r = cli(['run', file, '--db', db]);
  assert.is(r.code, 2, r.err);
  assert.match(r.err, /ids\.jsonl:1201: request id "logged" was used by a different request \(seq 4\); nothing was applied\n$/);
  assert.ok(readFileSync(db).equals(bytes), 'nothing applied');
  writeFileSync(file, ['{"op":"vm_start","vm":"x","mm":"0x5","id":"mine"}', ...good, '{"op":"vm_start","vm":"y","mm":"0x5","id":"mine"}'].join('\n'));
  r = cli(['run', file, '--db', db]);
  assert.is(r.code, 2, r.err);
  assert.match(r.err, /ids\.jsonl:1502: request id "mine" was used by a different request \(line 1\); nothing was applied\n$/);
  assert.ok(readFileSync(db).equals(bytes), 'nothing applied');
  // The same request again under its id is a retry: fine, and marked replayed.
  writeFileSync(file, '{"op":"vm_start","vm":"pre2","mm":"0x8","id":"logged"}\n{"op":"vm_start","vm":"pre2","mm":"0x8","id":"logged"}\n');
  r = cli(['run', file, '--db', db, '--json']);
  assert.is(r.code, 0, r.err);
  assert.equal(r.out.trim().split('\n').map((x) => JSON.parse(x).replayed), [true, true]);
});

T('parseRequestFile: a lone surrogate is a CliError from a RequestError, not a plain Error', () => {
  assert.throws(() => parseRequestFile('{"op":"vm_start","vm":"ok","mm":"1"}\n{"op":"vm_start","vm":"\\ud800","mm":"1"}', 'f'),
    (e: unknown) => e instanceof CliError && /^f:2: "vm" holds a lone/.test((e as Error).message));
});

T('run --json: a retried request id shows "replayed": true, a first run does not', async () => {
  const dir = tmpDir();
  const db = join(dir, 'log.db');
  const file = join(dir, 'r.jsonl');
  writeFileSync(file, '{"op":"vm_start","vm":"v","mm":"0x1","id":"start-v"}\n');
  const first = cli(['run', file, '--db', db, '--json']);
  assert.is(first.code, 0, first.err);
  assert.equal(JSON.parse(first.out), { seq: 2, ret: 0, pasid: null, reason: null });
  const again = cli(['run', file, '--db', db, '--json']);
  assert.is(again.code, 0, again.err);
  assert.equal(JSON.parse(again.out), { seq: 2, ret: 0, pasid: null, reason: null, replayed: true });
});

T.run();
