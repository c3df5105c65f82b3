import type { TransitionEntry } from '../../src/model/types.js';

/**
 * A transition as a test reads it: the typed union, plus any field by name (unknown
 * where the machine and event are not narrowed), so a test can read a transition it
 * found by position and assert on what it recorded.
 */
export type AnyTransition = TransitionEntry & Record<string, unknown>;
