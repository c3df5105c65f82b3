import { runDemo } from '../src/cli/demo.js';
import { openLedger } from '../src/ledger.js';
import { steppingClock, tmpDb } from './helpers.js';

/** The demo's log on a real file (a stepping clock: one second per entry), and the seqs the explorer tests look for. */
export interface DemoLog {
  path: string;
  head: number;
  /** vm2's refused ALLOC (quota_exhausted). */
  denied: number;
  /** vm2's crash request. */
  crash: number;
  /** The last seq of the crash's cascade. */
  crashEnd: number;
}

/**
 * Writes the `demo` story into a new log file and closes it.
 *
 * @example
 * const demo = await demoLog(); // demo.denied: seq of vm2's refused ALLOC
 */
export async function demoLog(): Promise<DemoLog> {
  const path = tmpDb('demo.db');
  const l = await openLedger(path, { pasid_quota: 8, clock: steppingClock() });
  const { outcomes, denied } = runDemo(l);
  const crash = outcomes.find((o) => o.req.op === 'vm_crash')!.out.seq;
  const after = outcomes[outcomes.findIndex((o) => o.req.op === 'vm_crash') + 1]!.out.seq;
  const head = l.head().seq;
  l.close();
  return { path, head, denied: denied!, crash, crashEnd: after - 1 };
}
