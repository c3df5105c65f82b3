import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, tmpDir } from './helpers.js';

const NESTING = 'VFIO_TYPE1_NESTING_IOMMU';
const BDF = '0000:3b:00.0';
/** A v1 struct: argsz 20, ALLOC, min 1, max 9, result 0. */
const V1_ALLOC_HEX = '14000000' + '01000000' + '01000000' + '09000000' + '00000000';

/**
 * One request file, run under both profiles. Each line's comment says what each kernel
 * answers; `DIFFERENCES` below lists, line by line, the outcome fields that differ.
 */
const FILE: Array<Record<string, unknown>> = [
  /* 0 */ { op: 'vm_start', vm: 'vm1', mm: 'm1' },
  /* 1 */ { op: 'container_open', vm: 'vm1', container: 'c1' },
  /* 2 */ { op: 'group_attach', container: 'c1', group: 'g1' },
  /* 3 */ { op: 'group_attach', container: 'c1', group: 'g2' }, // both: the container has no driver yet
  /* 4 */ { op: 'set_iommu', container: 'c1', type: NESTING }, // v1 0 | v7 -EINVAL: NESTING takes one group
  /* 5 */ { op: 'group_detach', container: 'c1', group: 'g2' },
  /* 6 */ { op: 'set_iommu', container: 'c1', type: NESTING }, // v1 -EINVAL already set | v7 0, vfio_mm taken now
  /* 7 */ { op: 'group_attach', container: 'c1', group: 'g2' }, // v1 0 | v7 -EINVAL one group
  /* 8 */ { op: 'pasid_alloc', container: 'c1', min: 1, max: 0xfffff }, // v1 ret 0 | v7 ret = the PASID, 1
  /* 9 */ { op: 'pasid_alloc', container: 'c1', min: 5, max: 4 }, // v1 -EFAULT range_exhausted | v7 -EINVAL bad_range
  /* 10 */ { op: 'pasid_alloc', container: 'c1', min: 0, max: 0 }, // v1 -EFAULT pasid_zero (0 kept) | v7 ret 0 = PASID 0
  /* 11 */ { op: 'pasid_free', container: 'c1', pasid: 1 }, // both 0; v1 names the PASID, v7 frees the range [1, 1]
  /* 12 */ { op: 'pasid_free', container: 'c1', pasid: 1 }, // v1 -ENOENT | v7 0 none_owned
  /* 13 */ { op: 'pasid_free', container: 'c1', min: 0, max: 10 }, // v1 -ENOTTY: the v7 ioctl | v7 0, frees 0
  /* 14 */ { op: 'pasid_request', container: 'c1', hex: V1_ALLOC_HEX }, // v1 0, result written back | v7 reads 16 bytes, ret 1
  /* 15 */ { op: 'set_pasid_quota', value: 5, actor: 'root' }, // v1 0 | v7 -EPERM read_only
  /* 16 */ { op: 'get_info', container: 'c1' }, // v1 nesting cap with PASID_REQS | v7 no modelled cap
  /* 17 */ { op: 'vcmd_write', vm: 'vm1', value: 1 }, // both status 0, PASID 2
  /* 18 */ { op: 'vcmd_write', vm: 'vm1', value: (77 << 8) | 2 }, // v1 status 2 invalid | v7 status 0 (range FREE is 0)
  /* 19 */ { op: 'vcmd_read', vm: 'vm1' }, // what the guest sees after 18
  /* 20 */ { op: 'device_add', group: 'g1', bdf: BDF, pasid_cap: { exec: true, priv: false, width: 20 } },
  /* 21 */ { op: 'config_read', bdf: BDF, offset: 0x100, size: 4 }, // both hidden (the default policy)
  /* 22 */ { op: 'container_open', vm: 'vm1', container: 't1' },
  /* 23 */ { op: 'group_attach', container: 't1', group: 'g3' },
  /* 24 */ { op: 'set_iommu', container: 't1', type: 'VFIO_TYPE1v2_IOMMU' },
  /* 25 */ { op: 'pasid_alloc', container: 't1', min: 1, max: 9 }, // v1 0 (TYPE1 has the vfio_mm too) | v7 -EOPNOTSUPP
  /* 26 */ { op: 'vm_exit', vm: 'vm1' },
];

/** The documented differences between the kernels, by line: which outcome fields differ. */
const DIFFERENCES: Record<number, string[]> = {
  4: ['ret', 'reason'],
  6: ['ret', 'reason'],
  7: ['ret', 'reason'],
  8: ['ret'],
  9: ['ret', 'reason'],
  10: ['ret'],
  11: ['pasid'],
  12: ['ret', 'pasid', 'reason'],
  13: ['ret', 'reason'],
  14: ['ret', 'hex'],
  15: ['ret', 'reason'],
  16: ['hex', 'info'],
  18: ['reason', 'value'],
  19: ['value'],
  25: ['ret', 'pasid', 'reason'],
};

const FIELDS = ['ret', 'pasid', 'reason', 'hex', 'value', 'info'] as const;
type Out = Record<(typeof FIELDS)[number] | 'seq', unknown>;

function runFile(profile: string): Out[] {
  const dir = tmpDir();
  const file = join(dir, 'requests.jsonl');
  writeFileSync(file, '# the same file under v1 and v7\n' + FILE.map((r) => JSON.stringify(r)).join('\n') + '\n');
  const out = execFileSync('node', [CLI, 'run', file, '--db', join(dir, `${profile}.db`), '--profile', profile, '--json'], { encoding: 'utf8' });
  return out.trim().split('\n').map((line) => JSON.parse(line) as Out);
}

const s = suite('profiles');

s('one request file under v1 and v7: the outcomes differ exactly where the kernels do', () => {
  const v1 = runFile('v1');
  const v7 = runFile('v7');
  assert.is(v1.length, FILE.length);
  assert.is(v7.length, FILE.length);
  const found: Record<number, string[]> = {};
  for (let i = 0; i < FILE.length; i++) {
    const diff = FIELDS.filter((k) => JSON.stringify(v1[i]![k]) !== JSON.stringify(v7[i]![k]));
    if (diff.length > 0) found[i] = diff;
  }
  assert.equal(found, DIFFERENCES);
  // and the values, where they differ, are the kernels'
  const pick = (o: Out[], i: number) => [o[i]!.ret, o[i]!.reason];
  assert.equal(pick(v1, 4), [0, null]);
  assert.equal(pick(v7, 4), [-22, 'nesting_one_group']);
  assert.equal(pick(v7, 8), [1, null]);
  assert.equal(pick(v1, 9), [-14, 'range_exhausted']);
  assert.equal(pick(v7, 9), [-22, 'bad_range']);
  assert.equal([v1[10]!.ret, v1[10]!.pasid, v1[10]!.reason], [-14, 0, 'pasid_zero']);
  assert.equal([v7[10]!.ret, v7[10]!.pasid, v7[10]!.reason], [0, 0, 'pasid_zero']);
  assert.equal(pick(v1, 12), [-2, 'not_allocated']);
  assert.equal(pick(v7, 12), [0, 'none_owned']);
  assert.equal(pick(v1, 13), [-25, 'v7_ioctl']);
  assert.is(v1[14]!.hex, V1_ALLOC_HEX.slice(0, 32) + '01000000', 'v1 writes the PASID into result');
  assert.equal([v7[14]!.ret, v7[14]!.hex], [1, undefined]);
  assert.equal(pick(v7, 15), [-1, 'read_only']);
  assert.equal([(v1[16]!.info as { nesting: boolean }).nesting, (v7[16]!.info as { nesting: boolean }).nesting], [true, false]);
  assert.equal([v1[17]!.pasid, v1[17]!.value, v7[17]!.value], [2, 0x200, 0x200]);
  assert.equal([v1[19]!.value, v7[19]!.value], [4, 0]);
  assert.equal(pick(v7, 25), [-95, 'no_vfio_mm']);
});

s('the profile is fixed at creation: run on an existing log with the other profile is refused', () => {
  const dir = tmpDir();
  const file = join(dir, 'one.jsonl');
  writeFileSync(file, JSON.stringify({ op: 'vm_start', vm: 'vm1', mm: 'm' }) + '\n');
  const db = join(dir, 'p.db');
  execFileSync('node', [CLI, 'run', file, '--db', db, '--profile', 'v7'], { encoding: 'utf8' });
  const again = spawnSync('node', [CLI, 'run', file, '--db', db, '--profile', 'v1'], { encoding: 'utf8' });
  assert.is(again.status, 2);
  assert.match(again.stderr, /profile is v7 in the log, not v1/);
  const bad = spawnSync('node', [CLI, 'run', file, '--db', join(dir, 'q.db'), '--profile', 'v9'], { encoding: 'utf8' });
  assert.is(bad.status, 2);
  assert.match(bad.stderr, /profile must be v1 or v7/);
});

s('text output shows the new outcome fields; state shows registers and devices', () => {
  const dir = tmpDir();
  const file = join(dir, 'r.jsonl');
  writeFileSync(file, FILE.slice(0, 21).map((r) => JSON.stringify(r)).join('\n') + '\n');
  const db = join(dir, 't.db');
  const text = execFileSync('node', [CLI, 'run', file, '--db', db, '--profile', 'v7'], { encoding: 'utf8' }).split('\n');
  assert.match(text[16]!, /get_info {2}ret 0 {2}pgsizes 0xfffffffffffff000 {2}caps - {2}nesting no {2}pasid_reqs yes/);
  assert.match(text[17]!, /vcmd_write {2}ret 0 {2}pasid 2 {2}value 0x200/);
  assert.match(text[19]!, /vcmd_read {2}ret 0 {2}value 0x0/);
  const state = execFileSync('node', [CLI, 'state', '--db', db], { encoding: 'utf8' });
  assert.match(state, /viommus \(1\):\n {2}vm1 {2}vccap 0x1 {2}vcrsp 0x0 {2}ready/);
  assert.match(state, /devices \(1\):\n {2}0000:3b:00\.0 {2}group g1 {2}present {2}pasid hidden@0x100 ctrl 0x0 {2}guest ecaps -/);
  const json = JSON.parse(execFileSync('node', [CLI, 'state', '--db', db, '--json'], { encoding: 'utf8' }));
  assert.equal(json.devices[0].guest_ecaps, []);
  assert.equal(json.viommus, [{ vm: 'vm1', vccap: 1, vcrsp: 0, state: 'ready' }]);
});

s.run();
