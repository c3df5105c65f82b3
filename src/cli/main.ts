#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { RequestError } from '../model/request.js';
import { StoreError } from '../store/open.js';
import { registerAudit } from './audit.js';
import { registerCheckpoint } from './checkpoint.js';
import { CliError } from './common.js';
import { registerDemo } from './demo.js';
import { registerDiff } from './diff.js';
import { registerExplain } from './explain.js';
import { registerKeygen } from './keygen.js';
import { registerLog } from './log.js';
import { registerReplay } from './replay.js';
import { registerRun } from './run.js';
import { registerState } from './state.js';
import { registerTimeline } from './timeline.js';
import { registerVerify } from './verify.js';
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
registerProve(program);
registerBundle(program);
registerVerifyBundle(program);
registerWitness(program);
registerExportTiles(program);
registerMigrate(program);
for (const cmd of program.commands) cmd.exitOverride();

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    // --help and --version exit 0; usage errors were printed by commander already.
    process.exitCode = e.exitCode === 0 ? 0 : 2;
  } else if (e instanceof CliError || e instanceof StoreError || e instanceof RequestError) {
    process.stderr.write(`pasid-ledger: ${e.message}\n`);
    process.exitCode = 2;
  } else {
    process.stderr.write(`pasid-ledger: internal error: ${(e as Error).stack ?? String(e)}\n`);
    process.exitCode = 70;
  }
}
