import type cliProgressNs from 'cli-progress';
import { createRequire } from 'node:module';

// Loaded on first use (a bar is drawn only on a TTY): keeps CLI start-up light.
const require = createRequire(import.meta.url);

/**
 * Progress on stderr for long work, only when stderr is a terminal: nothing extra
 * when output is piped or captured.
 */
export interface Progress {
  tick(n?: number): void;
  done(): void;
}

/**
 * A progress bar for `total` units of `what` (cli-progress), or a silent one when
 * stderr is not a terminal or the work is short.
 *
 * @example
 * const bar = progress('entries', 1_000_000); for (...) bar.tick(); bar.done();
 */
export function progress(what: string, total: number, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!stream.isTTY || total < 10_000) return { tick() {}, done() {} };
  const cliProgress = require('cli-progress') as typeof cliProgressNs;
  const bar = new cliProgress.SingleBar(
    { stream, format: `[{bar}] {percentage}% {value}/{total} ${what} {eta_formatted} left`, fps: 10, clearOnComplete: false },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0);
  return {
    tick(n = 1) { bar.increment(n); },
    done() { bar.stop(); },
  };
}
