import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { openLedger, type Ledger } from '../src/ledger.js';
import { parseRequest } from '../src/model/request.js';
import type { PasidCapExposure } from '../src/model/types.js';
import * as u from '../src/uapi/index.js';
import { freshLedger, setupVm, steppingClock, tmpDb } from './helpers.js';
import { effects, transitionsOf } from './v7_checks.js';

const BDF = '0000:3b:00.0';
const AER = 0x01;
const ATS = 0x0f;
const MRIOV = 0x11; // pci_ext_cap_length 0: vfio-pci hides it too
const s = suite('pci_cap');

/** A ledger with vm1's container holding g1 (IOMMU set), so the device fd can be had. */
async function host(exposure: PasidCapExposure): Promise<Ledger> {
  const l = await freshLedger({ pasid_cap_exposure: exposure });
  setupVm(l);
  return l;
}

const read = (l: Ledger, offset: number, size: 1 | 2 | 4 = 4, bdf = BDF) => l.request({ op: 'config_read', bdf, offset, size });
const hdr = (v: number) => u.decodePciExtCapHeader(v);

/** AER at 0x100 -> PASID at 0x148 -> ATS at 0x160: PASID in the middle of the chain. */
const middle = {
  op: 'device_add', group: 'g1', bdf: BDF,
  pasid_cap: { exec: true, priv: false, width: 20, offset: 0x148 },
  ecaps_before: [{ id: AER, offset: 0x100 }],
  ecaps_after: [{ id: ATS, offset: 0x160 }],
};

s('hidden: the previous header\'s next pointer is rewritten past the capability', async () => {
  const l = await host('hidden');
  const add = l.requestUntrusted(middle);
  assert.is(add.ret, 0);
  const t = transitionsOf(l, add)[0]!;
  assert.is(t.event, 'ADD');
  assert.is(t.pasid_view, 'hidden');
  assert.is(t.pasid_offset, 0x148);
  const aer = read(l, 0x100);
  assert.is(aer.ret, 0);
  assert.equal(hdr(aer.value!), { id: AER, version: 1, next: 0x160 }, 'the guest skips from AER to ATS');
  assert.equal(hdr(read(l, 0x160).value!), { id: ATS, version: 1, next: 0 });
  assert.equal(l.view().devices[0]!.guest_ecaps.map((e) => e.id), [AER, ATS]);
  assert.is(l.view().devices[0]!.pasid_view, 'hidden');
  // The skipped bytes are unclaimed by any capability: vfio-pci reads them raw (unassigned_perms).
  assert.equal(hdr(read(l, 0x148).value!), { id: 0x1b, version: 1, next: 0x160 });
});

s('hidden first at 0x100: a header with id and version zeroed, only next kept', async () => {
  const l = await host('hidden');
  l.request({ op: 'device_add', group: 'g1', bdf: BDF, pasid_cap: { exec: false, priv: true, width: 16 }, ecaps_after: [{ id: ATS, offset: 0x180 }] });
  const v = read(l, 0x100).value!;
  assert.is(v, 0x180 << 20);
  assert.equal(hdr(v), { id: 0, version: 0, next: 0x180 });
  assert.is(read(l, 0x102, 2).value, 0x1800, 'the upper half alone comes from the virtual header too');
  assert.equal(l.view().devices[0]!.guest_ecaps, [{ id: ATS, version: 1, offset: 0x180 }]);
  // alone in the chain: no capability is shown, so the dword at 0x100 reads 0 ("no ecaps")
  l.request({ op: 'device_add', group: 'g1', bdf: '0000:3b:00.1', pasid_cap: { exec: false, priv: false, width: 20 } });
  assert.is(read(l, 0x100, 4, '0000:3b:00.1').value, 0);
});

s('exposed: reads pass through to the device, the header from the virtual copy', async () => {
  const l = await host('exposed');
  const add = l.requestUntrusted(middle);
  assert.is(transitionsOf(l, add)[0]!.pasid_view, 'exposed');
  assert.equal(hdr(read(l, 0x100).value!), { id: AER, version: 1, next: 0x148 });
  const h = read(l, 0x148).value!;
  assert.equal(hdr(h), { id: 0x1b, version: 1, next: 0x160 });
  const cap = read(l, 0x14c, 2).value!;
  assert.is(cap, (20 << 8) | u.PCI_PASID_CAP_EXEC, 'Execute, not Privileged, width 20');
  assert.is(read(l, 0x14e, 2).value, 0, 'control register clear, as at reset');
  const bytes = Buffer.alloc(8);
  bytes.writeUInt32LE(h, 0);
  bytes.writeUInt16LE(cap, 4);
  const decoded = u.decodePciPasidCap(bytes)!;
  assert.equal([decoded.exec, decoded.priv, decoded.width, decoded.ctrl.enable], [true, false, 20, false]);
  assert.equal(l.view().devices[0]!.guest_ecaps.map((e) => e.offset), [0x100, 0x148, 0x160]);
});

s('exposed: the header\'s next pointer is virtualised past a hidden capability after it', async () => {
  const l = await host('exposed');
  l.requestUntrusted({ ...middle, ecaps_after: [{ id: MRIOV, offset: 0x160 }, { id: ATS, offset: 0x170 }] });
  assert.equal(hdr(read(l, 0x148).value!), { id: 0x1b, version: 1, next: 0x170 }, 'the device says 0x160');
  assert.is(read(l, 0x14c, 2).value, (20 << 8) | u.PCI_PASID_CAP_EXEC, 'the body still passes through');
});

s('exposed: writes are dropped, report success, and are logged with what they tried', async () => {
  const l = await host('exposed');
  l.requestUntrusted(middle);
  const en = l.request({ op: 'config_write', bdf: BDF, offset: 0x14e, size: 2, value: u.PCI_PASID_CTRL_ENABLE | u.PCI_PASID_CTRL_EXEC });
  assert.is(en.ret, 0, 'the guest sees success');
  assert.is(en.reason, 'pasid_enable_dropped');
  assert.is(en.pasid, null);
  assert.equal(transitionsOf(l, en), [], 'nothing reaches the device');
  assert.is(read(l, 0x14e, 2).value, 0);
  assert.is(l.view().devices[0]!.pasid_ctrl, 0);
  const entry = JSON.parse(l.log.row(en.seq)!.entry);
  assert.equal(entry.req, { op: 'config_write', bdf: BDF, offset: 0x14e, size: 2, value: 3 });
  assert.is(entry.vm, 'vm1', "the guest's vm is on the entry");
  const dword = l.request({ op: 'config_write', bdf: BDF, offset: 0x14c, size: 4, value: 0x00010000 });
  assert.is(dword.reason, 'pasid_enable_dropped', 'a dword write covering the control register');
  const capReg = l.request({ op: 'config_write', bdf: BDF, offset: 0x14c, size: 2, value: 0xffff });
  assert.is(capReg.reason, 'pasid_cap_read_only');
  assert.is(l.request({ op: 'config_write', bdf: BDF, offset: 0x148, size: 4, value: 0 }).reason, 'pasid_cap_read_only');
  assert.is(l.request({ op: 'config_write', bdf: BDF, offset: 0x100, size: 4, value: 0 }).reason, 'read_only_capability');
  assert.is(l.request({ op: 'config_write', bdf: BDF, offset: 0x04, size: 2, value: 6 }).reason, 'standard_space_not_modelled');
  assert.is(read(l, 0x14c, 2).value, (20 << 8) | u.PCI_PASID_CAP_EXEC);
});

s('hidden: the capability\'s registers are unclaimed bytes, so a write goes raw to the device (quirk, recorded)', async () => {
  const l = await host('hidden');
  l.requestUntrusted(middle);
  const w = l.request({ op: 'config_write', bdf: BDF, offset: 0x14e, size: 2, value: 1 });
  assert.is(w.ret, 0);
  assert.is(w.reason, 'hidden_pasid_cap_raw_write');
  assert.equal(effects(l, w), ['device CONFIG_WRITE']);
  const t = transitionsOf(l, w)[0]!;
  assert.equal(t.raw, [{ offset: 0x14e, hex: '0100' }]);
  assert.is(t.pasid_ctrl, 1, 'PASID Enable is now set in the hardware');
  assert.is(read(l, 0x14e, 2).value, 1);
  assert.is(l.view().devices[0]!.pasid_ctrl, 1);
  // an unclaimed byte elsewhere is raw too, and not about PASID
  const gap = l.request({ op: 'config_write', bdf: BDF, offset: 0x200, size: 1, value: 0xab });
  assert.is(gap.reason, null);
  assert.is(read(l, 0x200, 1).value, 0xab);
});

s('a VF has no PASID capability of its own: it stays hidden whatever the policy', async () => {
  const l = await host('exposed');
  const add = l.requestUntrusted({ ...middle, bdf: '0000:3b:00.2', is_vf: true });
  assert.is(transitionsOf(l, add)[0]!.pasid_view, 'hidden');
  assert.equal(hdr(read(l, 0x100, 4, '0000:3b:00.2').value!), { id: AER, version: 1, next: 0x160 });
  l.requestUntrusted(middle);
  assert.equal(hdr(read(l, 0x100).value!), { id: AER, version: 1, next: 0x148 }, 'the PF beside it shows it');
});

s('an access past the config space is -EFAULT; inside it never is', async () => {
  const l = await host('exposed');
  l.requestUntrusted(middle);
  for (const [offset, size] of [[4096, 1], [4095, 2], [4093, 4], [0xffffffff, 4], [2 ** 40 - 1, 1]] as const) {
    const o = l.request({ op: 'config_read', bdf: BDF, offset, size });
    assert.is(o.ret, -u.EFAULT, `${offset}+${size}`);
    assert.is(o.reason, 'past_config_size');
    assert.is(l.request({ op: 'config_write', bdf: BDF, offset, size, value: 0 }).ret, -u.EFAULT);
  }
  assert.is(read(l, 4092).ret, 0);
  assert.is(read(l, 4095, 1).ret, 0);
  // a conventional PCI function (256 bytes) has no extended space at all
  const img = '00'.repeat(256);
  l.request({ op: 'device_add', group: 'g1', bdf: '0000:00:1f.3', config_hex: img });
  assert.is(read(l, 0xfc, 4, '0000:00:1f.3').ret, 0);
  assert.is(read(l, 0x100, 4, '0000:00:1f.3').ret, -u.EFAULT);
});

s('the guest reaches a device only through a container with its IOMMU set; devices come and go', async () => {
  const l = await freshLedger();
  assert.is(read(l, 0x100).ret, -u.ENODEV);
  assert.is(l.requestUntrusted(middle).ret, 0);
  const dup = l.requestUntrusted(middle);
  assert.is(dup.ret, -u.EEXIST);
  assert.is(dup.reason, 'device_exists');
  const nofd = read(l, 0x100);
  assert.is(nofd.ret, -u.EINVAL, 'g1 is in no container');
  assert.is(nofd.reason, 'no_device_fd');
  setupVm(l);
  assert.is(read(l, 0x100).ret, 0);
  l.request({ op: 'vm_exit', vm: 'vm1' });
  assert.is(read(l, 0x100).reason, 'no_device_fd', 'the vm went away, its fds with it');
  const rm = l.request({ op: 'device_remove', bdf: BDF });
  assert.equal(effects(l, rm), ['device REMOVE']);
  assert.is(l.request({ op: 'device_remove', bdf: BDF }).ret, -u.ENODEV);
  assert.is(read(l, 0x100).ret, -u.ENODEV);
  const back = l.requestUntrusted({ ...middle, pasid_cap: { exec: false, priv: false, width: 8, offset: 0x148 } });
  assert.equal(effects(l, back), ['device ADD']);
  assert.is(transitionsOf(l, back)[0]!.from, 'removed');
  assert.is(l.view().devices[0]!.state, 'present');
});

s('a config space image: the chain as the device has it, a looping chain ends', async () => {
  const l = await host('exposed');
  const img = Buffer.alloc(4096);
  img.writeUInt32LE(u.encodePciExtCapHeader({ id: AER, version: 2, next: 0x200 })!, 0x100);
  img.writeUInt32LE(u.encodePciExtCapHeader({ id: 0x1b, version: 1, next: 0x100 })!, 0x200); // loops back
  img.writeUInt16LE(0x1406, 0x204);
  img.writeUInt32LE(0xdeadbeef, 0x800);
  const add = l.request({ op: 'device_add', group: 'g1', bdf: BDF, config_hex: img.toString('hex') });
  assert.is(transitionsOf(l, add)[0]!.pasid_offset, 0x200);
  assert.is(read(l, 0x204, 2).value, 0x1406);
  assert.is(read(l, 0x800).value, 0xdeadbeef);
  const ecaps = l.view().devices[0]!.guest_ecaps;
  assert.ok(ecaps.length <= 960, 'the walk is bounded');
  assert.equal(ecaps.slice(0, 3).map((e) => e.offset), [0x100, 0x200, 0x100]);
});

s('the state survives a reopen: devices and their hardware bytes come back from the log', async () => {
  const path = tmpDb();
  const l = await openLedger(path, { pasid_cap_exposure: 'hidden', clock: steppingClock() });
  setupVm(l);
  l.requestUntrusted(middle);
  l.request({ op: 'config_write', bdf: BDF, offset: 0x14e, size: 2, value: 1 });
  const before = l.view().devices;
  l.close();
  const again = await openLedger(path);
  assert.equal(again.view().devices, before);
  assert.is(again.request({ op: 'config_read', bdf: BDF, offset: 0x14e, size: 2 }).value, 1);
  assert.equal(again.view('vm1').devices.map((d) => d.bdf), [BDF], "state --vm shows the vm's devices");
  again.close();
});

s('request files: device and config ops are checked before the kernel sees them', () => {
  const ok = parseRequest(middle);
  assert.is(ok.op, 'device_add');
  const bad: Array<[Record<string, unknown>, RegExp]> = [
    [{ ...middle, bdf: '3b:00.0' }, /PCI address/],
    [{ ...middle, bdf: '0000:3B:00.0' }, /lower-case/],
    [{ ...middle, bdf: '0000:3b:20.0' }, /device 00..1f/],
    [{ ...middle, bdf: '0000:3b:00.8' }, /function 0..7/],
    [{ ...middle, pasid_cap: { exec: true, priv: false, width: 32, offset: 0x148 } }, /width/],
    [{ ...middle, pasid_cap: { exec: 1, priv: false, width: 20, offset: 0x148 } }, /exec/],
    [{ ...middle, pasid_cap: { exec: true, priv: false, width: 20 } }, /"pasid_cap.offset" is needed/],
    [{ ...middle, pasid_cap: { exec: true, priv: false, width: 20, offset: 0x14a } }, /multiple of 4/],
    [{ ...middle, pasid_cap: { exec: true, priv: false, width: 20, offset: 0xffc } }, /0x100..0xff8/],
    [{ ...middle, pasid_cap: { exec: true, priv: false, width: 20, offset: 0x148, enable: true } }, /unknown field "enable"/],
    [{ ...middle, ecaps_before: [{ id: AER, offset: 0x104 }] }, /first extended capability must be at 0x100/],
    [{ ...middle, ecaps_after: [{ id: ATS, offset: 0x14c }] }, /overlap/],
    [{ ...middle, ecaps_after: [{ id: 0x1b, offset: 0x160 }] }, /describe it with "pasid_cap"/],
    [{ ...middle, ecaps_before: [{ id: 0x10000, offset: 0x100 }] }, /0..0xFFFF/],
    [{ ...middle, ecaps_before: { id: 1, offset: 0x100 } }, /must be an array/],
    [{ op: 'device_add', group: 'g1', bdf: BDF, ecaps_after: [{ id: ATS, offset: 0x100 }] }, /needs "pasid_cap"/],
    [{ op: 'device_add', group: 'g1', bdf: BDF, config_hex: '00'.repeat(300) }, /256 or 4096 bytes/],
    [{ op: 'device_add', group: 'g1', bdf: BDF, config_hex: '00'.repeat(256), pasid_cap: middle.pasid_cap }, /not both/],
    [{ op: 'config_read', bdf: BDF, offset: 0x100, size: 3 }, /1, 2 or 4/],
    [{ op: 'config_read', bdf: BDF, offset: 0x100, size: 8 }, /1, 2 or 4/],
    [{ op: 'config_read', bdf: BDF, offset: -4, size: 4 }, /0..2\^40-1/],
    [{ op: 'config_read', bdf: BDF, offset: 2 ** 40, size: 4 }, /0..2\^40-1/],
    [{ op: 'config_read', bdf: BDF, offset: 1.5, size: 4 }, /0..2\^40-1/],
    [{ op: 'config_write', bdf: BDF, offset: 0x100, size: 1, value: 256 }, /does not fit in 1 byte/],
    [{ op: 'config_write', bdf: BDF, offset: 0x100, size: 2 }, /missing "value"/],
    [{ op: 'config_read', bdf: BDF, offset: 0x100, size: 4, vm: 'vm1' }, /unknown field "vm"/],
    [{ op: 'device_remove', bdf: 'x' }, /PCI address/],
  ];
  for (const [req, re] of bad) assert.throws(() => parseRequest(req), re, JSON.stringify(req).slice(0, 120));
});

s.run();
