import type { HostState } from './state.js';
import { stepMachine } from './step.js';
import type { MachineName, TransitionDraft } from './types.js';

/**
 * The transitions one request causes, collected in order while `decide` walks a
 * cascade. A cascade reads the state as it was before the request, so the few
 * facts a cascade changes and reads again (a vfio_mm's refcount when two containers
 * of one vm close) are kept here as an overlay instead of evolving a copy.
 */
export class Plan {
  readonly transitions: TransitionDraft[] = [];
  private readonly refs = new Map<number, number>();

  constructor(readonly state: HostState) {}

  /**
   * Steps `machine` from `from` on `event` and records the transition with its fields.
   * A machine refusing the event is a bug in `decide`, never a user's error: it throws.
   */
  step(machine: MachineName, event: string, from: string, fields: Record<string, unknown>): string {
    const to = stepMachine(machine, from, event);
    if (to === null) throw new Error(`bug: ${machine} refuses ${event} in state ${from}`);
    // Spread last: `{ ...a, k }` takes V8's slow path (about 4 µs), `{ k, ...a }` does not.
    this.transitions.push({ machine, event, from, to, ...fields });
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
