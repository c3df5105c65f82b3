import { spawnSync } from 'node:child_process';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { auditLog } from '../src/audit/audit_log.js';
import { CSV_SECTIONS } from '../src/audit/format_csv.js';
import type { DeviceGuestReport, VcmdVmReport } from '../src/audit/guest_report.js';
import type { AuditReport } from '../src/audit/report.js';
import type { PasidCapExposure, Profile } from '../src/model/types.js';
import { guestStory, PF, VF, type GuestStory, type Issued } from './guest_story.js';
import { CLI, parseCsv } from './helpers.js';

const s = suite('audit: the guest view');
const stories = new Map<string, GuestStory>();
const VARIANTS: Array<[Profile, PasidCapExposure]> = [['v1', 'hidden'], ['v1', 'exposed'], ['v7', 'hidden'], ['v7', 'exposed']];

s.before(async () => {
  for (const [p, x] of VARIANTS) stories.set(`${p} ${x}`, await guestStory(p, x));
});
s.after(() => { for (const st of stories.values()) st.ledger.close(); });


const cli = (args: string[]) => spawnSync('node', [CLI, 'audit', ...args], { encoding: 'utf8' });

/** The vcmd row the test expects for a vm, from the requests it issued and what it got back. */
function expectedVcmd(issued: Issued[], vm: string): VcmdVmReport {
  const row: VcmdVmReport = {
    vm, writes: 0, reads: 0, alloc_success: 0, alloc_no_pasid_available: 0, free_success: 0, free_invalid_pasid: 0,
    undefined_command: 0, dropped_no_pas: 0, dropped_in_progress: 0, refused: 0,
  };
  for (const { req, out } of issued) {
    if ((req as { vm?: string }).vm !== vm) continue;
    if (req.op === 'vcmd_read') {
      if (out.ret < 0) row.refused++;
      else row.reads++;
    }
    if (req.op !== 'vcmd_write') continue;
    row.writes++;
    const cmd = req.value & 0xff;
    if (out.ret < 0) row.refused++;
    else if (out.reason === 'dropped_no_pas' || out.reason === 'dropped_in_progress' || out.reason === 'undefined_command') row[out.reason]++;
    else if (cmd === 1) (out.reason === 'no_pasid_available' ? row.alloc_no_pasid_available++ : row.alloc_success++);
    else if (cmd === 2) (out.reason === 'invalid_pasid' ? row.free_invalid_pasid++ : row.free_success++);
  }
  return row;
}

const DROPS = new Set(['pasid_enable_dropped', 'pasid_cap_read_only', 'read_only_capability', 'standard_space_not_modelled']);

/** The config-access counts the test expects for a function. */
function expectedDevice(issued: Issued[], bdf: string) {
  const mine = issued.filter((i) => (i.req as { bdf?: string }).bdf === bdf);
  const ok = (op: string) => mine.filter((i) => i.req.op === op && i.out.ret === 0);
  const writes = ok('config_write');
  return {
    config_reads: ok('config_read').length,
    config_writes: writes.length,
    refused: mine.filter((i) => i.req.op.startsWith('config') && i.out.ret < 0).length,
    writes_dropped: writes.filter((i) => DROPS.has(i.out.reason ?? '')).length,
    raw_writes: writes.filter((i) => i.out.reason === 'hidden_pasid_cap_raw_write').length,
    pasid_enable_dropped: writes.filter((i) => i.out.reason === 'pasid_enable_dropped').length,
    hidden_pasid_cap_raw_write: writes.filter((i) => i.out.reason === 'hidden_pasid_cap_raw_write').length,
  };
}

for (const [profile, exposure] of VARIANTS) {
  const key = `${profile} ${exposure}`;
  const st = () => stories.get(key)!;

  s(`${key}: the log the ledger wrote audits clean (exit 0), and the guest view counts what was issued`, () => {
    const r = cli(['--db', st().path, '--format', 'json']);
    assert.is(r.status, 0, r.stdout.slice(0, 2000));
    const rep = JSON.parse(r.stdout) as AuditReport;
    assert.ok(rep.invariants.every((i) => i.holds), JSON.stringify(rep.invariants.filter((i) => !i.holds)));
    assert.equal(rep.guest.vcmd.map((v) => v.vm), ['vm1', 'vm2', 'ghost']);
    for (const v of rep.guest.vcmd) assert.equal(v, expectedVcmd(st().issued, v.vm), v.vm);
    const vm1 = rep.guest.vcmd[0]!;
    // The numbers the story is built to give: quota 2 spent by two ALLOCs; v7's range FREE "succeeds" for 999.
    assert.equal([vm1.writes, vm1.alloc_success, vm1.alloc_no_pasid_available, vm1.undefined_command, vm1.reads], [6, 2, 1, 1, 1]);
    assert.equal([vm1.free_success, vm1.free_invalid_pasid], profile === 'v1' ? [1, 1] : [2, 0]);
    assert.equal([rep.guest.vcmd[1]!.dropped_no_pas, rep.guest.vcmd[2]!.refused], [1, 1]);

    const dev = (bdf: string) => rep.guest.devices.find((d) => d.bdf === bdf)!;
    for (const bdf of [PF, VF]) {
      const d = dev(bdf);
      const { bdf: _b, group: _g, is_vf: _v, pasid_view: _p, pasid_offset: _o, adds: _a, removes: _r, dropped_by_reason: _d, ...counts } = d;
      assert.equal(counts, expectedDevice(st().issued, bdf), bdf);
    }
    assert.equal([dev(PF).pasid_view, dev(PF).pasid_enable_dropped], [exposure, exposure === 'exposed' ? 1 : 0]);
    assert.equal([dev(VF).pasid_view, dev(VF).is_vf, dev(VF).hidden_pasid_cap_raw_write], ['hidden', true, 1]);
    assert.equal(dev(PF).dropped_by_reason, exposure === 'exposed'
      ? { pasid_enable_dropped: 1, pasid_cap_read_only: 1, read_only_capability: 1, standard_space_not_modelled: 1 }
      : { read_only_capability: 1, standard_space_not_modelled: 1 });
    assert.equal(rep.guest.get_info, { requests: 2, pasid_reqs_without_vfio_mm: profile === 'v1' ? 1 : 0 });

    // The flags among the quirks, each at the request that shows it.
    const hits = (k: string) => rep.quirks.hits.filter((h) => h.kind === k).map((h) => h.seq);
    const seqsOf = (reason: string) => st().issued.filter((i) => i.out.reason === reason).map((i) => i.out.seq);
    assert.equal(hits('pasid_enable_dropped'), exposure === 'exposed' ? [st().out('enable').seq] : []);
    assert.equal(hits('hidden_pasid_cap_raw_write'), seqsOf('hidden_pasid_cap_raw_write'));
    assert.equal(hits('pasid_reqs_without_vfio_mm'), profile === 'v1' ? [st().out('info c4').seq] : []);
    assert.is(rep.quirks.counts.pasid_enable_dropped, exposure === 'exposed' ? 1 : 0);
    if (exposure === 'exposed') {
      const h = rep.quirks.hits.find((x) => x.kind === 'pasid_enable_dropped')!;
      assert.equal([h.request, h.vm, h.bdf], [st().out('enable').seq, 'vm1', PF]);
      assert.match(h.detail, /^guest tried to enable PASID on a read-only capability: vm1 wrote 0x1 to 0x14e of 0000:3b:00\.0 \(PASID capability at 0x148\)/);
    }
    // PASID 0 and a PASID above the 20-bit width are quirks under both profiles, not broken invariants.
    assert.equal(rep.quirks.hits.filter((h) => h.kind === 'pasid_zero').map((h) => h.request), [st().out('zero').seq]);
    assert.equal(rep.quirks.hits.filter((h) => h.kind === 'pasid_above_width').map((h) => [h.request, h.pasid]), [[st().out('wide').seq, 0x7fffff00]]);
  });
}

s('v7: the library audit agrees with the command line, and the denials of the guest view are per vm', () => {
  const st = stories.get('v7 exposed')!;
  const rep = auditLog(st.ledger.log);
  assert.ok(rep.ok);
  assert.equal(rep.guest.vcmd[0], expectedVcmd(st.issued, 'vm1'));
  const vm3 = rep.vms.find((v) => v.vm === 'vm3')!;
  assert.equal(vm3.denied, { quota_exhausted: 1 }, 'v7 quota exhaustion is -ENOSPC, counted');
  const mm = rep.vfio_mms.find((m) => m.vm === 'vm3')!;
  assert.is(mm.held_at_end, 0, "v7's range FREE freed PASID 0 and the wide one");
});

s('text, csv and html carry the guest view; --help documents the csv sections', () => {
  const st = stories.get('v1 exposed')!;
  const enable = st.out('enable').seq;
  const text = cli(['--db', st.path]);
  assert.is(text.status, 0);
  assert.match(text.stdout, /Guest view: virtual commands per vm \(3\)/);
  assert.match(text.stdout, /Guest view: config space per PCI function \(2\), pasid_cap_exposure exposed/);
  assert.match(text.stdout, new RegExp(`Flag: guest tried to enable PASID on a read-only capability at seq ${enable} \\(${PF}\\)`));
  assert.match(text.stdout, /GET_INFO: 2 request\(s\); 1 claimed PASID requests for a container without a vfio_mm/);
  assert.match(text.stdout, /Kernel quirks hit: .*pasid_enable_dropped 1/);

  const csv = cli(['--db', st.path, '--format', 'csv']);
  const rows = parseCsv(csv.stdout);
  const vcmdCols = CSV_SECTIONS.guest_vcmd as readonly string[];
  const vm1 = rows.find((r) => r[0] === 'guest_vcmd' && r[1] === 'vm1')!;
  const want = expectedVcmd(st.issued, 'vm1');
  assert.equal(vm1.slice(1), vcmdCols.map((c) => String(want[c as keyof VcmdVmReport])));
  const devCols = CSV_SECTIONS.guest_device as readonly string[];
  const pf = rows.find((r) => r[0] === 'guest_device' && r[1] === PF)!;
  const col = (name: keyof DeviceGuestReport) => pf[devCols.indexOf(name) + 1];
  assert.equal([col('pasid_view'), col('pasid_enable_dropped'), col('writes_dropped')], ['exposed', '1', String(expectedDevice(st.issued, PF).writes_dropped)]);
  const quirkRow = rows.find((r) => r[0] === 'quirk' && r[1] === 'pasid_enable_dropped')!;
  assert.equal([quirkRow[2], quirkRow.at(-1)], [String(enable), PF]);
  assert.ok(rows.some((r) => r[0] === 'summary' && r[1] === 'get_info_pasid_reqs_without_vfio_mm' && r[2] === '1'));

  const html = cli(['--db', st.path, '--format', 'html']).stdout;
  assert.match(html, /<section id="guest"><h2>Guest view<\/h2>/);
  assert.match(html, /<table id="guest-vcmd">[^]*<tr data-vm="vm1"><td>vm1<\/td><td class="num">6<\/td><td class="num">2<\/td><td class="num">1<\/td>/);
  assert.match(html, new RegExp(`<table id="guest-devices">[^]*<tr data-bdf="${PF}"><td>${PF}</td><td>g2</td><td>exposed @0x148</td>`));
  assert.match(html, new RegExp(`<p id="guest-flags">Guest tried to enable PASID on a read-only capability at seq ${enable} \\(${PF}\\)\\.</p>`));
  assert.match(html, /<tr data-kind="pasid_enable_dropped">/);

  const help = cli(['--help']).stdout;
  assert.match(help, /  guest_vcmd: vm,writes,reads,alloc_success,/);
  assert.match(help, /  guest_device: bdf,group,is_vf,pasid_view,/);
  assert.match(help, /pasid_enable_dropped = tries to enable PASID on a read-only capability/);
});

s.run();
