import type { HostState } from '../model/state.js';
import { MACHINES, stepMachine } from '../model/step.js';
import type { MachineName, TransitionEntry } from '../model/types.js';
import { isU32 } from '../uapi/bytes.js';


/**
 * The state the host says the object of a transition is in, before it: what the
 * transition's `from` must be. Null for a machine this audit does not know: its
 * transitions are not checked.
 *
 * @example
 * machineStateOf(s, { machine: 'pasid', pasid: 3 } as TransitionEntry); // 'free' or 'allocated'
 */
export function machineStateOf(s: HostState, t: TransitionEntry): string | null {
  switch (t.machine) {
    case 'vm': return s.vms.get(t.vm)?.state ?? 'none';
    case 'container': return s.containers.get(t.container)?.state ?? 'none';
    case 'group': return s.groups.get(t.group)?.container ? 'attached' : 'detached';
    case 'vfio_mm': {
      const id = t.vfio_mm;
      if (s.vfioMms.has(id)) return 'live';
      return typeof id === 'number' && id >= 1 && id <= s.lastVfioMm ? 'released' : 'none';
    }
    case 'pasid': return isU32(t.pasid) && s.ids.has(t.pasid) ? 'allocated' : 'free';
    // A module parameter is writable for its whole life under v1; v7 makes it read-only (no transitions).
    case 'module_param': return s.config.profile === 'v7' ? 'read_only' : 'writable';
    case 'device': return s.devices.get(t.bdf)?.state ?? 'none';
    // The vIOMMU lives with its vm: a vm the host does not know has none to step.
    case 'viommu': return s.vms.get(t.vm)?.viommu ?? 'none';
    default: return null;
  }
}

/**
 * What is wrong with a transition's `from`/`to` against the machine, or null when it
 * agrees: `from` must be the current state and `to` the state the xstate machine
 * reaches from it on the event.
 *
 * @example
 * transitionMismatch(s, { machine: 'pasid', event: 'FREE', from: 'allocated', to: 'free', pasid: 9 } as TransitionEntry);
 * // 'pasid 9 is free, but the transition says it was allocated' when 9 is not held
 */
export function transitionMismatch(s: HostState, t: TransitionEntry): string | null {
  const now = machineStateOf(s, t);
  if (now === null || !(t.machine in MACHINES)) return null;
  const what = `${t.machine} ${objectKey(t)}`;
  if (t.from !== now) return `${what} is ${now}, but the ${t.event} transition says it was ${String(t.from)}`;
  const to = stepMachine(t.machine as MachineName, now, String(t.event));
  if (to === null) return `the ${t.machine} machine does not take ${String(t.event)} in state ${now}`;
  if (t.to !== to) return `${t.event} takes ${what} from ${now} to ${to}, but the transition says ${String(t.to)}`;
  return null;
}

/** The key of the object a transition changes, for messages. */
export function objectKey(t: TransitionEntry): string {
  switch (t.machine) {
    case 'vm': return String(t.vm);
    case 'container': return String(t.container);
    case 'group': return String(t.group);
    case 'vfio_mm': return `#${String(t.vfio_mm)}`;
    case 'pasid': return String(t.pasid);
    case 'module_param': return String(t.name ?? 'pasid_quota');
    case 'device': return String(t.bdf);
    case 'viommu': return String(t.vm);
    default: return '';
  }
}
