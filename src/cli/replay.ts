import type BetterSqlite3 from 'better-sqlite3';
import type { Command } from 'commander';
import { ChainError } from '../snapshot/cache.js';
import { viewState } from '../model/view.js';
import { parsePoint, requestSpan, resolvePoint } from '../replay/point.js';
import { replayTo } from '../replay/replay_to.js';
import { verifyReplay } from '../replay/verify_replay.js';
import { EntryLog } from '../store/log.js';
import { escapeControls, jsonText } from '../text/escape.js';
import { CliError, printJson } from './common.js';
import { fmtState } from './format.js';
import { answering, openLogFile, ticker } from './open_log.js';
import { progress } from './progress.js';

export function registerReplay(program: Command): void {
  program
    .command('replay')
    .description('the state just after an entry (or at a time), in the shape of "state"; or --verify: re-decide every request with today\'s code')
    .requiredOption('--db <path>', 'the SQLite log')
    .option('--at <seq|time>', 'an entry seq, or an ISO-8601 time (the last entry at or before it), e.g. 2026-01-01T10:42:00Z')
    .option('--vm <vm>', 'only this vm, its containers and its vfio_mm')
    .option('--verify', "re-decide every recorded request from the log's own configuration and compare outcomes and transitions")
    .option('--after-request', 'with --at: when the entry is a request or one of its transitions, the state after the whole request (its last transition)')
    .option('--check-chain', 'with --at: replay from entry 1, ignoring snapshots, recomputing every leaf and chain on the way (exit 1 at the first bad entry)')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExit status: 0; with --verify, 1 when an entry differs (the first one is named); with --check-chain, 1 when an entry does not hash; 2 for bad input.')
    .action(async (o: { db: string; at?: string; vm?: string; verify?: boolean; checkChain?: boolean; afterRequest?: boolean; json?: boolean }) => {
      if ((o.at === undefined) === (o.verify === undefined)) throw new CliError('give either --at <seq|time> or --verify');
      if (o.verify && (o.vm !== undefined || o.checkChain || o.afterRequest)) throw new CliError('--vm, --check-chain and --after-request apply to --at, not to --verify');
      const db = await openLogFile(o.db);
      try {
        await answering(() => (o.verify ? runVerify(db, o.json) : runAt(db, o.at!, o.vm, o.json, o.checkChain, o.afterRequest)));
      } finally {
        db.close();
      }
    });
}

function runAt(db: BetterSqlite3.Database, at: string, vm: string | undefined, json?: boolean, checkChain?: boolean, afterRequest?: boolean): void {
  const log = new EntryLog(db);
  const point = resolvePoint(log, parsePoint(at));
  // A request's transitions are the entries after it: the state "at" a request entry is
  // the state before them. Say so, and move past them when asked.
  const span = requestSpan(log, point);
  const seq = afterRequest && span ? span.last : point;
  if (span && span.last > span.seq) {
    const caused = span.last === span.seq + 1 ? `entry ${span.last}` : `entries ${span.seq + 1}..${span.last}`;
    const note = seq === span.last
      ? `state after request ${span.seq} (${span.op}) and the transitions it caused (${caused})`
      : `entry ${point} is ${point === span.seq ? 'request' : 'inside request'} ${span.seq} (${span.op}), whose transitions are ${caused}: this is the state after entry ${point}${point < span.last ? ', before the rest of them' : ''}; add --after-request for the state after the whole request`;
    // JSON keeps its shape on stdout; the note goes to stderr there.
    if (json) process.stderr.write(note + '\n');
    else process.stdout.write(note + '\n');
  }
  const bar = progress('entries', seq);
  const tick = ticker(bar);
  let s;
  try {
    s = replayTo(db, { seq }, { onProgress: (n) => tick(n), checkChain: checkChain ?? false });
  } catch (e) {
    if (!(e instanceof ChainError)) throw e;
    process.stdout.write(json ? jsonText({ ok: false, seq: e.seq, problem: e.message }) + '\n' : `${escapeControls(e.message)}\n`);
    process.exitCode = 1;
    return;
  } finally {
    bar.done();
  }
  const v = viewState(s, vm);
  if (json) printJson(v);
  else process.stdout.write(fmtState(v) + '\n');
}

function runVerify(db: BetterSqlite3.Database, json?: boolean): void {
  const bar = progress('entries re-decided', new EntryLog(db).head().seq);
  const tick = ticker(bar);
  let r;
  try {
    r = verifyReplay(db, (n) => tick(n));
  } finally {
    bar.done();
  }
  if (json) printJson(r);
  else if (r.ok) process.stdout.write(`replay verified: ${r.requests} requests re-decided with today's code; all ${r.entries} entries agree with the log\n`);
  else process.stdout.write(`seq ${r.mismatch!.seq} differs: ${escapeControls(r.mismatch!.problem)}\n`);
  if (!r.ok) process.exitCode = 1;
}
