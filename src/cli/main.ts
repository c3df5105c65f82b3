#!/usr/bin/env node
import { CommanderError } from 'commander';
import { escapeControls, safeLines } from '../text/escape.js';
import { runCli } from './program.js';

// URI filenames let a read command open a checkpointed copy in a read-only directory as
// immutable (see openDatabase). Read by better-sqlite3 when it opens its first database.
process.env.SQLITE_USE_URI ??= '1';

// A reader that goes away (`log ... | head -1`) is not an error: the rest of the output
// is dropped and the command ends as it would have (a writing command still finishes).
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code !== 'EPIPE') throw e;
});

/**
 * The one line on stderr for an error a person can act on, or undefined for a bug. The
 * error classes are imported here, not at the top: a command that threw one has loaded its
 * module already, and `--help` loads none of them (the store pulls in better-sqlite3).
 */
async function usageError(e: unknown): Promise<string | undefined> {
  const [{ isBusy, StoreError }, { busyMessage }, { CliError }, { FleetError }, { RequestError }] = await Promise.all([
    import('../store/open.js'), import('./busy.js'), import('./common.js'), import('../fleet/errors.js'), import('../model/request.js'),
  ]);
  if (isBusy(e)) return busyMessage();
  if (e instanceof CliError || e instanceof FleetError || e instanceof StoreError || e instanceof RequestError) return escapeControls(e.message);
  return undefined;
}

try {
  await runCli(process.argv);
} catch (e) {
  const usage = e instanceof CommanderError ? undefined : await usageError(e);
  if (e instanceof CommanderError) {
    // --help and --version exit 0; usage errors were printed by commander already.
    process.exitCode = e.exitCode === 0 ? 0 : 2;
  } else if (usage !== undefined) {
    process.stderr.write(`pasid-ledger: ${usage}\n`);
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
