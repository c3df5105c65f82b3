import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { absRow, type BenchRow } from '../row.js';
import { median, timeIt } from '../stats.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

function run(args: string[]): void {
  const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.status !== 0) throw new Error(`bug: ${args.join(' ')} exited ${String(r.status)}: ${String(r.stderr)}`);
}

/**
 * CLI start-up: the wall time of `pasid-ledger --help` and of `state` on an up-to-date
 * log, each as a multiple of `node -e 0` timed just before it (interleaved, so a busy
 * machine slows both alike). The value is the median of the per-pair ratios.
 *
 * @example
 * const [help, state] = startupRows('./big.db', 15, console.error);
 */
export function startupRows(db: string, runs: number, log: (s: string) => void): BenchRow[] {
  const pairs = { help: [] as number[], state: [] as number[], node: [] as number[] };
  for (let i = 0; i < runs; i++) {
    const node = timeIt(() => run(['-e', '0']));
    pairs.node.push(node);
    pairs.help.push(timeIt(() => run([CLI, '--help'])) / node);
    const node2 = timeIt(() => run(['-e', '0']));
    pairs.state.push(timeIt(() => run([CLI, 'state', '--db', db, '--json'])) / node2);
  }
  const ms = (median(pairs.node) * 1000).toFixed(0);
  log(`CLI start-up: --help ${median(pairs.help).toFixed(2)}x, state ${median(pairs.state).toFixed(2)}x of node -e 0 (${ms} ms)`);
  return [
    absRow('cli_help', 'CLI start-up: pasid-ledger --help', 'x node -e 0', pairs.help, { kind: 'max', value: 3 }, `node -e 0 took ${ms} ms (median); per-pair ratios, interleaved`),
    absRow('cli_state', 'CLI start-up: state --json on an up-to-date log', 'x node -e 0', pairs.state, { kind: 'none' }, 'opens the log read-only (no migrator loaded) and prints its state'),
  ];
}
