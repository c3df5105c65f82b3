import type { RequestEntry, TransitionEntry } from '../model/types.js';
import { DROPPED_WRITE_REASONS, vcmdCommand, vcmdOutcome } from '../model/guest_vocab.js';

/**
 * What the guests saw (docs/kernel-behaviour.md sections 6 and 7): their virtual commands through the
 * vIOMMU, counted per vm by the status they read back, and their config-space accesses
 * per PCI function, with the writes vfio-pci dropped. Memory grows with the number of
 * vms and functions, not with the log.
 */

/** One vm's virtual commands: VCMD writes by command and the status the guest read back. */
export interface VcmdVmReport {
  vm: string;
  /** Every vcmd_write of the vm, whatever came of it. */
  writes: number;
  /** VCRSP reads. */
  reads: number;
  /** ALLOC: status 0 (a PASID), status 2 (no PASID available). */
  alloc_success: number;
  alloc_no_pasid_available: number;
  /** FREE: status 0, status 2 (invalid PASID). */
  free_success: number;
  free_invalid_pasid: number;
  /** Any other command: status 1. */
  undefined_command: number;
  /** Writes QEMU dropped: VCCAP without PAS, or a command in progress. */
  dropped_no_pas: number;
  dropped_in_progress: number;
  /** Writes or reads refused because the vm was not running (-ESRCH). */
  refused: number;
}

/** One PCI function's config space as its guest used it. */
export interface DeviceGuestReport {
  bdf: string;
  /** From its last `device ADD`: the group, and how the guest sees its PASID capability. */
  group: string | null;
  is_vf: boolean;
  pasid_view: string | null;
  pasid_offset: number | null;
  adds: number;
  removes: number;
  config_reads: number;
  config_writes: number;
  /** Accesses refused (no device fd, past the config size, no such function). */
  refused: number;
  /** Writes vfio-pci dropped and reported as success (see `DROPPED_WRITE_REASONS`), by reason. */
  writes_dropped: number;
  dropped_by_reason: Record<string, number>;
  /** Guest writes that reached the hardware raw (`device CONFIG_WRITE`). */
  raw_writes: number;
  /** Writes that tried to set PASID Enable on an exposed, read-only capability. */
  pasid_enable_dropped: number;
  /** Writes to a hidden PASID capability's bytes, which went raw to the hardware (mainline quirk). */
  hidden_pasid_cap_raw_write: number;
}

/** The guest-view section of the audit. */
export interface GuestReport {
  vcmd: VcmdVmReport[];
  devices: DeviceGuestReport[];
  /** GET_INFO requests, and those whose reply claimed PASID requests for a container without a vfio_mm (v1 quirk). */
  get_info: { requests: number; pasid_reqs_without_vfio_mm: number };
}

const OUTCOME_FIELD: Record<string, keyof VcmdVmReport> = {
  'ALLOC success': 'alloc_success',
  'ALLOC no_pasid_available': 'alloc_no_pasid_available',
  'FREE success': 'free_success',
  'FREE invalid_pasid': 'free_invalid_pasid',
};

/**
 * Accumulates the guest view while the audit folds the log.
 *
 * @example
 * const g = new GuestAccount();
 * g.request({ op: 'vcmd_write', req: { vm: 'vm1', value: 1 }, ret: 0, value: 0x100 } as RequestEntry);
 * g.report().vcmd[0]!.alloc_success; // 1
 */
export class GuestAccount {
  private readonly vcmd = new Map<string, VcmdVmReport>();
  private readonly devices = new Map<string, DeviceGuestReport>();
  private readonly info = { requests: 0, pasid_reqs_without_vfio_mm: 0 };

  /** A request entry. */
  request(r: RequestEntry): void {
    const req = r.req ?? {};
    switch (r.op) {
      case 'vcmd_write': {
        const v = this.vm(String(req.vm ?? r.vm));
        v.writes += 1;
        const outcome = vcmdOutcome(r);
        const field = outcome === 'refused' ? 'refused'
          : outcome === 'dropped_no_pas' || outcome === 'dropped_in_progress' || outcome === 'undefined_command' ? outcome
            : OUTCOME_FIELD[`${vcmdCommand(req.value)} ${outcome}`];
        if (field !== undefined && field !== 'vm') (v[field] as number) += 1;
        return;
      }
      case 'vcmd_read': {
        const v = this.vm(String(req.vm ?? r.vm));
        if (r.ret < 0) v.refused += 1;
        else v.reads += 1;
        return;
      }
      case 'config_read':
      case 'config_write': {
        const d = this.device(String(req.bdf));
        if (r.ret < 0) {
          d.refused += 1;
          return;
        }
        if (r.op === 'config_read') {
          d.config_reads += 1;
          return;
        }
        d.config_writes += 1;
        if (r.reason !== undefined && DROPPED_WRITE_REASONS.has(r.reason)) {
          d.writes_dropped += 1;
          d.dropped_by_reason[r.reason] = (d.dropped_by_reason[r.reason] ?? 0) + 1;
        }
        if (r.reason === 'pasid_enable_dropped') d.pasid_enable_dropped += 1;
        if (r.reason === 'hidden_pasid_cap_raw_write') d.hidden_pasid_cap_raw_write += 1;
        return;
      }
      case 'get_info':
        this.info.requests += 1;
        if (r.reason === 'pasid_reqs_without_vfio_mm') this.info.pasid_reqs_without_vfio_mm += 1;
        return;
      default:
    }
  }

  /** A `device` transition. */
  transition(t: TransitionEntry): void {
    if (t.machine !== 'device' || typeof t.bdf !== 'string') return;
    const d = this.device(t.bdf);
    if (t.event === 'ADD') {
      d.adds += 1;
      d.group = typeof t.group === 'string' ? t.group : null;
      d.is_vf = t.is_vf === true;
      d.pasid_view = typeof t.pasid_view === 'string' ? t.pasid_view : null;
      d.pasid_offset = typeof t.pasid_offset === 'number' ? t.pasid_offset : null;
    } else if (t.event === 'REMOVE') d.removes += 1;
    else if (t.event === 'CONFIG_WRITE') d.raw_writes += 1;
  }

  report(): GuestReport {
    return {
      vcmd: [...this.vcmd.values()].map((v) => ({ ...v })),
      devices: [...this.devices.values()].map((d) => ({ ...d, dropped_by_reason: { ...d.dropped_by_reason } })),
      get_info: { ...this.info },
    };
  }

  private vm(vm: string): VcmdVmReport {
    let v = this.vcmd.get(vm);
    if (!v) {
      v = {
        vm, writes: 0, reads: 0, alloc_success: 0, alloc_no_pasid_available: 0, free_success: 0, free_invalid_pasid: 0,
        undefined_command: 0, dropped_no_pas: 0, dropped_in_progress: 0, refused: 0,
      };
      this.vcmd.set(vm, v);
    }
    return v;
  }

  private device(bdf: string): DeviceGuestReport {
    let d = this.devices.get(bdf);
    if (!d) {
      d = {
        bdf, group: null, is_vf: false, pasid_view: null, pasid_offset: null, adds: 0, removes: 0, config_reads: 0, config_writes: 0,
        refused: 0, writes_dropped: 0, dropped_by_reason: {}, raw_writes: 0, pasid_enable_dropped: 0, hidden_pasid_cap_raw_write: 0,
      };
      this.devices.set(bdf, d);
    }
    return d;
  }
}
