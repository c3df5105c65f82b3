import { transition, type AnyStateMachine } from 'xstate';
import {
  containerMachine, deviceMachine, groupMachine, moduleParamMachine, pasidMachine, vfioMmMachine, viommuMachine, vmMachine,
} from '../../machines/index.js';
import type { MachineName } from './types.js';

/** The machine behind each name a transition entry can carry. */
export const MACHINES = {
  vm: vmMachine,
  container: containerMachine,
  group: groupMachine,
  vfio_mm: vfioMmMachine,
  pasid: pasidMachine,
  module_param: moduleParamMachine,
  device: deviceMachine,
  viommu: viommuMachine,
} as const satisfies Record<MachineName, AnyStateMachine>;

/** machine -> from -> event -> to: nested maps, so a lookup hashes no freshly built string. */
const memo = new Map<string, Map<string, Map<string, string | null>>>();

/**
 * The state a machine reaches from `from` on `event`, or null when the machine does
 * not accept the event there.
 *
 * The machines' transitions carry no guards (the kernel's checks are named guards that
 * `decide` runs first, in the kernel's order), so the target depends on the state and
 * the event type alone: xstate's pure `transition()` is asked once per pair and its
 * answer kept. A fresh `transition()` builds a throw-away actor (about 22 µs); the
 * memo makes a step a map lookup on the hot path.
 *
 * @example
 * stepMachine('pasid', 'free', 'ALLOC'); // 'allocated'
 * stepMachine('pasid', 'free', 'FREE');  // null
 */
export function stepMachine(machine: MachineName, from: string, event: string): string | null {
  let byFrom = memo.get(machine);
  if (!byFrom) memo.set(machine, (byFrom = new Map()));
  let byEvent = byFrom.get(from);
  if (!byEvent) byFrom.set(from, (byEvent = new Map()));
  const hit = byEvent.get(event);
  if (hit !== undefined) return hit;
  const to = xstateStep(machine, from, event);
  byEvent.set(event, to);
  return to;
}

/** The uncached step, straight from xstate: what `stepMachine` memoises. */
export function xstateStep(machine: MachineName, from: string, event: string): string | null {
  const logic: AnyStateMachine = MACHINES[machine];
  if (!logic) throw new Error(`unknown machine ${machine}`);
  const snapshot = logic.resolveState({ value: from, context: {} });
  if (!snapshot.can({ type: event })) return null;
  const [next] = transition(logic, snapshot, { type: event });
  return String(next.value);
}
