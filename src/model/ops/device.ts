import { EEXIST, EFAULT, EINVAL, ENODEV } from '../../uapi/errno.js';
import { readPasidCtrl } from '../../uapi/pci_pasid_cap.js';
import { deviceGuards } from '../../../machines/device.js';
import { accept, refuse, type Decision } from '../decision.js';
import { deviceConfigOf, pasidView, type DeviceAddFields } from '../device_image.js';
import { readConfig, writeConfig } from '../pci_access.js';
import { Plan } from '../plan.js';
import type { TransitionFields } from '../transitions.js';
import type { DeviceState, HostState } from '../state.js';

/**
 * A PCI function is bound to vfio-pci in a group, with its config space (an image, or a
 * description of its extended capabilities). vfio-pci virtualises it under the host's
 * `pasid_cap_exposure` policy; the `ADD` transition records the fields it was built from
 * and what the guest will see of PASID, so replay rebuilds the same view. A bdf already
 * present is -EEXIST.
 *
 * @example
 * deviceAdd(state, { group: 'g1', bdf: '0000:3b:00.0', pasid_cap: { exec: true, priv: false, width: 20 } });
 * // { ret: 0, transitions: [{ machine: 'device', event: 'ADD', pasid_view: 'hidden', pasid_offset: 256, ... }] }
 */
export function deviceAdd(s: HostState, req: { group: string; bdf: string } & DeviceAddFields): Decision {
  const prior = s.devices.get(req.bdf);
  if (deviceGuards.isPresent(prior?.state)) return refuse(-EEXIST, 'device_exists');
  const cfg = deviceConfigOf(req, s.config.pasid_cap_exposure);
  const plan = new Plan(s);
  const fields: TransitionFields['device']['ADD'] = {
    bdf: req.bdf, group: req.group, is_vf: req.is_vf === true,
    cfg_size: cfg.cfgSize, pasid_view: pasidView(cfg), pasid_offset: cfg.pasidOffset, exposure: s.config.pasid_cap_exposure,
  };
  if (req.pasid_cap !== undefined) fields.pasid_cap = req.pasid_cap;
  if (req.ecaps_before !== undefined) fields.ecaps_before = req.ecaps_before;
  if (req.ecaps_after !== undefined) fields.ecaps_after = req.ecaps_after;
  if (req.config_hex !== undefined) fields.config_hex = req.config_hex;
  plan.step('device', 'ADD', fields);
  return accept(plan, { ret: 0 });
}

/** The function is unplugged (or unbound from vfio-pci). A bdf not present is -ENODEV. */
export function deviceRemove(s: HostState, req: { bdf: string }): Decision {
  const d = s.devices.get(req.bdf);
  if (!deviceGuards.isPresent(d?.state)) return refuse(-ENODEV, 'no_such_device');
  const plan = new Plan(s);
  plan.step('device', 'REMOVE', { bdf: req.bdf, group: d!.group });
  return accept(plan, { ret: 0 });
}

/**
 * The guest's access path to a function: the device fd QEMU got with
 * `VFIO_GROUP_GET_DEVICE_FD`, which needs the group in a container whose IOMMU is set.
 * The caller is the vm that opened that container. Then the bounds check of
 * `vfio_config_do_rw`: past the config space is -EFAULT.
 */
function resolveAccess(s: HostState, req: { bdf: string; offset: number; size: number }): { d: DeviceState; vm: string } | { refused: Decision } {
  const d = s.devices.get(req.bdf);
  if (!d || !deviceGuards.isPresent(d.state)) return { refused: refuse(-ENODEV, 'no_such_device') };
  const g = s.groups.get(d.group);
  const c = g?.container ? s.containers.get(g.container) : undefined;
  if (!c || !deviceGuards.hasDeviceFd(c.state)) return { refused: refuse(-EINVAL, 'no_device_fd', c?.vm) };
  if (!deviceGuards.inConfigSpace(req.offset, req.size, d.cfgSize)) return { refused: refuse(-EFAULT, 'past_config_size', c.vm) };
  return { d, vm: c.vm };
}

/**
 * The guest reads `size` bytes of config space at `offset` (docs/kernel-behaviour.md section 7): a
 * hidden PASID capability is not in the chain it walks, an exposed one reads through
 * with its header virtualised. `value` is what the guest sees; nothing changes.
 *
 * @example
 * configRead(state, { bdf: '0000:3b:00.0', offset: 0x100, size: 4 }).value; // e.g. 0x0000_0000 (hidden, alone)
 */
export function configRead(s: HostState, req: { bdf: string; offset: number; size: number }): Decision {
  const r = resolveAccess(s, req);
  if ('refused' in r) return r.refused;
  return { ret: 0, vm: r.vm, value: readConfig(r.d, req.offset, req.size), transitions: [] };
}

/**
 * The guest writes config space. The write always reports success (the kernel returns
 * the byte count); what happened is recorded: chunks in an extended capability are
 * dropped (`pasid_enable_dropped` when it tried to set PASID Enable on an exposed,
 * read-only capability), chunks in unclaimed bytes go raw to the hardware, including a
 * hidden PASID capability's registers (`hidden_pasid_cap_raw_write`), as a
 * `CONFIG_WRITE` transition that changes the function's bytes.
 *
 * @example
 * configWrite(state, { bdf: '0000:3b:00.0', offset: 0x106, size: 2, value: 1 }).reason; // 'pasid_enable_dropped' (exposed)
 */
export function configWrite(s: HostState, req: { bdf: string; offset: number; size: number; value: number }): Decision {
  const r = resolveAccess(s, req);
  if ('refused' in r) return r.refused;
  const { d, vm } = r;
  const eff = writeConfig(d, req.offset, req.size, req.value);
  const plan = new Plan(s);
  if (eff.raw.length > 0) {
    const fields: TransitionFields['device']['CONFIG_WRITE'] = { bdf: d.bdf, group: d.group, vm, raw: eff.raw };
    if (d.pasidOffset !== null) {
      // The PASID control register as the hardware holds it after the write: what audit asks about.
      const after = Uint8Array.from(d.phys);
      for (const w of eff.raw) after.set(Buffer.from(w.hex, 'hex'), w.offset);
      fields.pasid_ctrl = readPasidCtrl(after, d.pasidOffset);
    }
    plan.step('device', 'CONFIG_WRITE', fields);
  }
  return accept(plan, { ret: 0, vm, reason: eff.note });
}
