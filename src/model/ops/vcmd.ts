import { ESRCH } from '../../uapi/errno.js';
import { encodePasidRequestV1 } from '../../uapi/pasid_request_v1.js';
import type { Reason } from '../reason.js';
import type { VcmdTry } from '../transitions.js';
import { encodePasidRequestV7 } from '../../uapi/pasid_request_v7.js';
import { VFIO_IOMMU_FLAG_ALLOC_PASID, VFIO_IOMMU_FLAG_FREE_PASID, VFIO_IOMMU_PASID_ALLOC, VFIO_IOMMU_PASID_FREE } from '../../uapi/vfio.js';
import {
  decodeVcmd, encodeVcrsp, VTD_VCMD_FREE_INVALID_PASID, VTD_VCMD_NO_AVAILABLE_PASID, VTD_VCMD_SUCCESS,
  VTD_HPASID_MAX, VTD_HPASID_MIN, VTD_VCMD_UNDEFINED_CMD, VTD_VCRSP_IP,
} from '../../uapi/vtd_vcmd.js';
import { viommuGuards } from '../../../machines/viommu.js';
import { vmGuards } from '../../../machines/vm.js';
import { accept, refuse, type Decision } from '../decision.js';
import { evolve } from '../evolve.js';
import { Plan } from '../plan.js';
import { cloneState, supportsPasidRequests, type HostState, type VmState } from '../state.js';
import type { TransitionDraft } from '../types.js';
import { pasidRequestV1 } from './pasid_request_v1.js';
import { pasidRequestV7 } from './pasid_request_v7.js';

/** One container QEMU tried for a guest command, and what the host answered. */
export type { VcmdTry } from '../transitions.js';

function runningVm(s: HostState, vm: string): VmState | Decision {
  const v = s.vms.get(vm);
  if (!v) return refuse(-ESRCH, 'no_such_vm', vm);
  if (!vmGuards.isRunning(v.state)) return refuse(-ESRCH, 'vm_not_running', vm);
  return v;
}

/**
 * The guest writes VCMD (QEMU's `vtd_handle_vcmd_write`, docs/kernel-behaviour.md section 6). A write
 * while VCCAP lacks PAS, or while a command is in progress, is dropped: logged with its
 * reason, nothing changes. Otherwise QEMU sets VCRSP.IP (`VCMD_START`), runs the command
 * through the host, and writes the response (`VCMD_DONE`):
 *
 * - ALLOC: each of the vm's containers that take PASID requests (NESTING, in open
 *   order) is asked for a PASID in `[1, 0xFFFFF]`, until one succeeds: status 0 and the
 *   PASID in bits 63:8, or status 2 when every try failed (or there was none).
 * - FREE of `(value >> 8) & 0xFFFFF`: the same walk; status 0 or 2.
 * - any other command: status 1.
 *
 * Each try is a real PASID request of the host's profile, decided against the host as
 * the tries before it left it; its transitions (a PASID ALLOC, a v1 lazy quota adjust)
 * are caused by this write, and `VCMD_DONE` lists the tries with their errnos. An MMIO
 * write has no return value: `ret` is 0 for a running vm; `value` is the VCRSP the
 * guest will read.
 *
 * @example
 * vcmdWrite(state, { vm: 'vm1', value: 1 }); // { ret: 0, pasid: 1, value: 0x100, transitions: [START, ALLOC, DONE] }
 */
export function vcmdWrite(s: HostState, req: { vm: string; value: number }): Decision {
  const v = runningVm(s, req.vm);
  if ('transitions' in v) return v;
  if (!viommuGuards.hasPas(v.vccap)) return { ...refuse(0, 'dropped_no_pas', req.vm), value: v.vcrsp };
  if (viommuGuards.inProgress(v.viommu)) return { ...refuse(0, 'dropped_in_progress', req.vm), value: v.vcrsp };
  const cmd = decodeVcmd(req.value);
  if (!cmd) throw new Error(`bug: vcmd value ${req.value} passed parseRequest but does not decode`);
  const plan = new Plan(s);
  plan.step('viommu', 'VCMD_START', { vm: req.vm, cmd: cmd.cmd, value: req.value, vcrsp: VTD_VCRSP_IP });
  let status: number;
  let result = 0;
  let pasid: number | undefined;
  let reason: Reason | undefined;
  let tries: VcmdTry[] = [];
  if (cmd.op === null) {
    status = VTD_VCMD_UNDEFINED_CMD;
    reason = 'undefined_command';
  } else {
    const w = walk(s, v, plan, cmd.op, cmd.pasid);
    tries = w.tries;
    if (cmd.op === 'alloc') {
      status = w.ok ? VTD_VCMD_SUCCESS : VTD_VCMD_NO_AVAILABLE_PASID;
      if (w.ok) result = pasid = w.pasid!;
      reason = w.ok ? w.reason : 'no_pasid_available';
    } else {
      pasid = cmd.pasid;
      status = w.ok ? VTD_VCMD_SUCCESS : VTD_VCMD_FREE_INVALID_PASID;
      reason = w.ok ? w.reason : 'invalid_pasid';
    }
  }
  const vcrsp = encodeVcrsp({ ip: false, status, result });
  plan.step('viommu', 'VCMD_DONE', {
    vm: req.vm, cmd: cmd.cmd, status, vcrsp, ...(pasid !== undefined ? { pasid } : {}), tries,
  });
  return accept(plan, { ret: 0, vm: req.vm, pasid, reason, value: vcrsp });
}

/**
 * The walk over the vm's containers. A failed try that still changed something (v1's
 * lazy quota adjust) is evolved into a private copy, so the next try sees it as the
 * kernel would; the common case copies nothing.
 */
function walk(s: HostState, v: VmState, plan: Plan, op: 'alloc' | 'free', operand: number): { ok: boolean; pasid?: number; reason?: Reason; tries: VcmdTry[] } {
  const tries: VcmdTry[] = [];
  let cur = s;
  for (const id of v.containers) {
    const c = cur.containers.get(id);
    if (!c || !supportsPasidRequests(c)) continue;
    const d = op === 'alloc' ? hostAlloc(cur, id) : hostFree(cur, id, operand);
    const t: VcmdTry = { container: id, ret: d.ret };
    if (d.reason !== undefined) t.reason = d.reason;
    if (d.pasid !== undefined) t.pasid = d.pasid;
    tries.push(t);
    plan.transitions.push(...d.transitions);
    if (d.ret >= 0) return { ok: true, pasid: d.pasid, reason: d.reason, tries };
    if (d.transitions.length > 0) cur = applyDrafts(cur === s ? cloneState(s) : cur, d.transitions);
  }
  return { ok: false, tries };
}

/** QEMU's ALLOC on one container: `[VTD_HPASID_MIN, VTD_HPASID_MAX]` (`[1, 0xFFFFF]`) in the profile's struct. */
function hostAlloc(s: HostState, container: string): Decision {
  return s.config.profile === 'v7'
    ? pasidRequestV7(s, { container }, encodePasidRequestV7({ flags: VFIO_IOMMU_FLAG_ALLOC_PASID, min: VTD_HPASID_MIN, max: VTD_HPASID_MAX }))
    : pasidRequestV1(s, { container }, encodePasidRequestV1({ flags: VFIO_IOMMU_PASID_ALLOC, min: VTD_HPASID_MIN, max: VTD_HPASID_MAX }), false);
}

/** QEMU's FREE on one container: v7 has only a range, so `[pasid, pasid]`. */
function hostFree(s: HostState, container: string, pasid: number): Decision {
  return s.config.profile === 'v7'
    ? pasidRequestV7(s, { container }, encodePasidRequestV7({ flags: VFIO_IOMMU_FLAG_FREE_PASID, min: pasid, max: pasid }))
    : pasidRequestV1(s, { container }, encodePasidRequestV1({ flags: VFIO_IOMMU_PASID_FREE, pasid }), false);
}

function applyDrafts(s: HostState, drafts: readonly TransitionDraft[]): HostState {
  for (const t of drafts) evolve(s, { ...t, seq: s.seq, at: s.at ?? '', type: 'transition', cause: s.seq });
  return s;
}

/**
 * The guest reads VCRSP: what its last command left (status in bits 2:1, the PASID from
 * bit 8, bit 0 while a command is in progress). Logged, so replay and audit can say
 * what the guest saw; changes nothing.
 *
 * @example
 * vcmdRead(state, { vm: 'vm1' }).value; // 0x100 after an ALLOC that got PASID 1
 */
export function vcmdRead(s: HostState, req: { vm: string }): Decision {
  const v = runningVm(s, req.vm);
  if ('transitions' in v) return v;
  return { ret: 0, vm: req.vm, value: v.vcrsp, transitions: [] };
}
