#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { RequestError } from '../model/request.js';
import { isBusy, StoreError } from '../store/open.js';
import { registerAudit } from './audit.js';
import { busyMessage } from './busy.js';
import { registerCheckpoint } from './checkpoint.js';
import { escapeControls, safeLines } from '../text/escape.js';
import { CliError } from './common.js';
import { registerDemo } from './demo.js';
import { registerDiff } from './diff.js';
import { registerExplain } from './explain.js';
import { registerExport } from './export.js';
import { registerExplore } from './explore.js';
import { registerKeygen } from './keygen.js';
import { registerLog } from './log.js';
import { registerReplay } from './replay.js';
import { registerRun } from './run.js';
import { registerShip } from './ship.js';
import { registerFleet } from './fleet.js';
import { FleetError } from '../fleet/errors.js';
import { registerState } from './state.js';
import { registerTimeline } from './timeline.js';
import { registerVerify } from './verify.js';
import { registerServe } from './serve.js';
import { registerToken } from './token.js';
import { registerOpenapi } from './openapi.js';

// URI filenames let a read command open a checkpointed copy in a read-only directory as
// immutable (see openDatabase). Read by better-sqlite3 when it opens its first database.
process.env.SQLITE_USE_URI ??= '1';

// A reader that goes away (`log ... | head -1`) is not an error: the rest of the output
// is dropped and the command ends as it would have (a writing command still finishes).
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code !== 'EPIPE') throw e;
});

const EXIT_STATUS = `
Exit status:
  0   success
  1   a check found a problem (audit: an invariant broken; verify: a bad entry or
      checkpoint; replay --verify / --check-chain: an entry differs; export: the copy
      does not verify)
  2   bad input or an unusable file (one line on stderr): a bad option or request
      file, a file that holds no pasid-ledger log, an output file that exists (see
      --force) or is the log, a database kept busy by another writer (--busy-timeout)
  70  internal error (a bug: please report it with the stack trace printed)`;
import { registerBundle } from './bundle.js';
import { registerExportTiles } from './export_tiles.js';
import { registerMigrate } from './migrate.js';
import { registerProve } from './prove.js';
import { registerVerifyBundle } from './verify_bundle.js';
import { registerWitness } from './witness.js';

const program = new Command('pasid-ledger')
  .description('VFIO PASID allocation as xstate machines over an append-only, hash-chained SQLite log')
  .version('0.1.0')
  .showHelpAfterError('(run with --help for usage)')
  .addHelpText('after', EXIT_STATUS)
  // commander quotes the offending argument in its messages: escaped like every output.
  .configureOutput({ outputError: (str, write) => write(str.endsWith('\n') ? `${escapeControls(str.slice(0, -1))}\n` : escapeControls(str)) })
  .exitOverride();

registerRun(program);
registerState(program);
registerLog(program);
registerDemo(program);
registerAudit(program);
registerReplay(program);
registerExplain(program);
registerTimeline(program);
registerDiff(program);
registerVerify(program);
registerCheckpoint(program);
registerKeygen(program);
registerExport(program);
registerExplore(program);
registerShip(program);
registerFleet(program);
registerServe(program);
registerToken(program);
registerOpenapi(program);
registerProve(program);
registerBundle(program);
registerVerifyBundle(program);
registerWitness(program);
registerExportTiles(program);
registerMigrate(program);
for (const cmd of program.commands) {
  cmd.exitOverride();
  for (const sub of cmd.commands) sub.exitOverride();
}

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    // --help and --version exit 0; usage errors were printed by commander already.
    process.exitCode = e.exitCode === 0 ? 0 : 2;
  } else if (isBusy(e)) {
    process.stderr.write(`pasid-ledger: ${busyMessage()}\n`);
    process.exitCode = 2;
  } else if (e instanceof CliError || e instanceof FleetError || e instanceof StoreError || e instanceof RequestError) {
    process.stderr.write(`pasid-ledger: ${escapeControls(e.message)}\n`);
    process.exitCode = 2;
  } else {
    // The message may quote hostile input: escaped whole; the stack frames below it line by line.
    const err = e instanceof Error ? e : new Error(String(e));
    const stack = err.stack ?? '';
    const frames = stack.indexOf('\n    at ') >= 0 ? stack.slice(stack.indexOf('\n    at ') + 1).split('\n') : [];
    process.stderr.write(`pasid-ledger: internal error: ${escapeControls(`${err.name}: ${err.message}`)}\n${frames.length ? safeLines(frames) + '\n' : ''}`);
    process.exitCode = 70;
  }
}
