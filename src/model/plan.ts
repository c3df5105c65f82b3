import type { HostState } from './state.js';
import { stepMachine } from './step.js';
import type { Transition, TransitionFields } from './transitions.js';
import type { MachineName, TransitionDraft } from './types.js';

/**
 * Where each machine's current state is read: the entity a transition's fields name,
 * and its state in the host as it was before the request.
 */
const CURRENT: { [M in MachineName]: (s: HostState, f: TransitionFields[M][keyof TransitionFields[M]]) => { key: string | number; state: string } } = {
  vm: (s, f) => ({ key: f.vm, state: s.vms.get(f.vm)?.state ?? 'none' }),
  container: (s, f) => ({ key: f.container, state: s.containers.get(f.container)?.state ?? 'none' }),
  group: (s, f) => ({ key: f.group, state: (s.groups.get(f.group)?.container ?? null) === null ? 'detached' : 'attached' }),
  vfio_mm: (s, f) => ({ key: f.vfio_mm, state: s.vfioMms.has(f.vfio_mm) ? 'live' : 'none' }),
  pasid: (s, f) => ({ key: f.pasid, state: s.owner.has(f.pasid) ? 'allocated' : 'free' }),
  // v7's read-only parameter refuses writes before any transition.
  module_param: (_s, f) => ({ key: f.name, state: 'writable' }),
  device: (s, f) => ({ key: f.bdf, state: s.devices.get(f.bdf)?.state ?? 'none' }),
  viommu: (s, f) => ({ key: f.vm, state: s.vms.get(f.vm)?.viommu ?? 'ready' }),
};

/**
 * The transitions one request causes, collected in order while `decide` walks a
 * cascade. A cascade reads the state as it was before the request, so the few
 * facts a cascade changes and reads again (an entity's machine state, a vfio_mm's
 * refcount when two containers of one vm close) are kept here as an overlay instead
 * of evolving a copy.
 */
export class Plan {
  readonly transitions: TransitionDraft[] = [];
  private readonly refs = new Map<number, number>();
  /** machine -> entity -> the state this plan stepped it to. */
  private readonly stepped = new Map<MachineName, Map<string | number, string>>();

  constructor(readonly state: HostState) {}

  /**
   * Steps `machine` on `event` from the state of the entity the fields name (as this
   * plan has left it, else as the host has it) and records the transition with its fields.
   * A machine refusing the event is a bug in `decide`, never a user's error: it throws.
   *
   * @example
   * plan.step('pasid', 'ALLOC', { pasid: 1, vfio_mm: 1, mm: '0x1000', container: 'c1' }); // 'allocated'
   */
  step<M extends MachineName, E extends keyof TransitionFields[M] & string>(machine: M, event: E, fields: TransitionFields[M][E]): string {
    const cur = CURRENT[machine](this.state, fields);
    let mine = this.stepped.get(machine);
    if (!mine) this.stepped.set(machine, (mine = new Map()));
    const from = mine.get(cur.key) ?? cur.state;
    const to = stepMachine(machine, from, event);
    if (to === null) throw new Error(`bug: ${machine} ${String(cur.key)} refuses ${event} in state ${from}`);
    mine.set(cur.key, to);
    // Spread last: `{ ...a, k }` takes V8's slow path (about 4 µs), `{ k, ...a }` does not.
    this.transitions.push({ machine, event, from, to, ...(fields as object) } as unknown as Transition);
    return to;
  }

  /** A vfio_mm's refcount as the cascade has left it so far. */
  refsOf(vfioMm: number): number {
    return this.refs.get(vfioMm) ?? this.state.vfioMms.get(vfioMm)?.refs ?? 0;
  }

  setRefs(vfioMm: number, refs: number): void {
    this.refs.set(vfioMm, refs);
  }
}
