/**
 * The catalogue of what the audit checks: the invariants of docs/kernel-behaviour.md section 8, by
 * their number there, and the structural checks that make the log itself coherent
 * (ids `S1`..`S3`). Each has a stable snake_case name for machine readers.
 */

/** One check of the audit. */
export interface InvariantDef {
  /** `1`..`8` as in docs/kernel-behaviour.md section 8; `S1`.. for the structural checks. */
  id: string;
  name: string;
  /** What must hold, as one sentence. */
  statement: string;
}

/**
 * Every check the audit runs, in report order.
 *
 * @example
 * INVARIANTS.find((i) => i.id === '7')!.name; // 'lowest_free'
 */
export const INVARIANTS: readonly InvariantDef[] = Object.freeze([
  { id: '1', name: 'single_owner', statement: 'each allocated PASID has exactly one owning vfio_mm; no PASID is held by two at once' },
  { id: '2', name: 'within_quota', statement: "ids held by a vfio_mm never exceed its set's quota" },
  { id: '3', name: 'capacity_balance', statement: 'capacity_avail + the quotas of all live sets = capacity, and capacity_avail is never negative' },
  { id: '4', name: 'reclaimed_at_release', statement: 'when a vfio_mm is released, none of its PASIDs remains allocated' },
  { id: '5', name: 'free_by_owner', statement: 'under v1 a FREE only frees a PASID owned by the vfio_mm of the requesting container (or reclaims it in a release cascade)' },
  { id: '6', name: 'pasid_in_range', statement: 'PASID 0 is never held and no PASID above the pasid_bits width is held, except through the flagged kernel quirks' },
  { id: '7', name: 'lowest_free', statement: "each ALLOC hands out the lowest free id in the request's [min, max]" },
  { id: '8', name: 'quota_change_actor', statement: 'every change of pasid_quota names a non-empty actor' },
  { id: 'S1', name: 'cause_is_request', statement: 'every transition names as its cause the request entry it follows' },
  { id: 'S2', name: 'transition_from_state', statement: "a transition's from is its machine's current state, its to is where the machine goes on the event, and it names the object it changes correctly" },
  { id: 'S3', name: 'entry_well_formed', statement: 'entry 1 is the configuration, every entry is JSON of a known type with its row seq, and the model can apply it' },
  { id: 'S4', name: 'chain_intact', statement: "every row's leaf is the hash of its entry text and its chain follows from the row before it (skipped, and said so, with --no-verify)" },
  { id: 'S5', name: 'clock_order', statement: "no entry's at is earlier than the entry before it: the log's order is the order in time" },
  { id: 'S6', name: 'decided_outcome', statement: 'every request has the outcome and exactly the transitions the model decides against the state before it: an accepted request causes its transitions, a rejected one none' },
  { id: 'S7', name: 'snapshot_digest', statement: "every snapshot entry records the digest of the state the log before it builds (so a cached snapshot it vouches for is the log's)" },
]);
