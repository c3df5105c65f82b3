import * as assert from 'uvu/assert';
import { resolveConfig, type ConfigOptions } from '../../src/config.js';
import type { Decision } from '../../src/model/decision.js';
import { decide } from '../../src/model/decide.js';
import { evolve } from '../../src/model/evolve.js';
import { parseRequest } from '../../src/model/request.js';
import { emptyState, type HostState } from '../../src/model/state.js';
import type { Entry, Request, TransitionDraft } from '../../src/model/types.js';

/** What a `then` expects of a decision: the outcome fields named, and the transitions in order (each a subset of fields). */
export interface Expected {
  ret: number;
  reason?: string | null;
  pasid?: number | null;
  transitions?: Array<Partial<TransitionDraft>>;
}

const AT = '2026-01-01T00:00:00.000Z';

/**
 * Runs one request as the ledger does, in memory: decide against `s`, then evolve the
 * request entry and each transition in. Returns the decision.
 */
export function step(s: HostState, req: Request): Decision {
  const d = decide(s, parseRequest(req));
  const cause = s.seq + 1;
  evolve(s, { seq: cause, at: AT, type: 'request', op: req.op, req: {}, ret: d.ret } as Entry);
  d.transitions.forEach((t, i) => evolve(s, { ...t, seq: cause + 1 + i, at: AT, type: 'transition', cause } as Entry));
  return d;
}

/**
 * A decider specification over `decide` and `evolve`, with no SQLite (after Emmett's
 * `DeciderSpecification`): given the requests that built the host, when one more
 * request comes, then this outcome and these transitions.
 *
 * @example
 * decider().given(...vmWithNestingContainer).when({ op: 'pasid_alloc', container: 'c1', min: 1, max: 10 })
 *   .then({ ret: 0, pasid: 1, transitions: [{ machine: 'pasid', event: 'ALLOC', pasid: 1 }] });
 */
export function decider(opts: ConfigOptions = {}) {
  const config = resolveConfig(opts);
  if (typeof config === 'string') throw new Error(config);
  return {
    given(...history: Request[]) {
      const s = emptyState(config);
      evolve(s, { seq: 1, at: AT, type: 'config', format: 1, ...config });
      for (const r of history) step(s, r);
      return {
        /** The host the history built, for assertions on state. */
        state: s,
        when(req: Request) {
          const before = s.seq;
          const d = step(s, req);
          return {
            decision: d,
            state: s,
            then(want: Expected, label: string = req.op): HostState {
              assert.is(d.ret, want.ret, `${label}: ret`);
              if ('reason' in want) assert.is(d.reason ?? null, want.reason, `${label}: reason`);
              if ('pasid' in want) assert.is(d.pasid ?? null, want.pasid, `${label}: pasid`);
              if (want.transitions) {
                assert.is(d.transitions.length, want.transitions.length, `${label}: number of transitions (${d.transitions.map((t) => `${t.machine}.${t.event}`).join(', ')})`);
                want.transitions.forEach((w, i) => {
                  for (const [k, v] of Object.entries(w)) assert.equal((d.transitions[i] as Record<string, unknown>)[k], v, `${label}: transition ${i} ${k}`);
                });
              }
              assert.is(s.seq, before + 1 + d.transitions.length, `${label}: every transition evolved`);
              return s;
            },
          };
        },
      };
    },
  };
}

/** The usual start of a PASID test: vm1 running, container c1 with group g1, the IOMMU set (vfio_mm taken in v1). */
export function vmWithContainer(type = 'VFIO_TYPE1_NESTING_IOMMU', vm = 'vm1', mm = '0x1000', container = 'c1', group = 'g1'): Request[] {
  return [
    { op: 'vm_start', vm, mm },
    { op: 'container_open', vm, container },
    { op: 'group_attach', container, group },
    { op: 'set_iommu', container, type },
  ];
}
