import { statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import type { CheckpointOptions } from '../server/checkpointer.js';
import { showName } from '../text/escape.js';
import { parseCheckpoint } from '../tlog/checkpoint.js';
import type { NoteVerifier } from '../tlog/keys.js';
import { openNote } from '../tlog/note.js';
import { noteOrigin } from './checkpoint_note.js';
import { CliError } from './common.js';
import { loadSigner, readText } from './note_keys.js';
import { checkOutFile, writeOutFile } from './out_file.js';

/** `serve`'s checkpoint flags. */
export interface ServeCheckpointFlags {
  checkpointKey?: string;
  checkpointEvery?: number;
  checkpointInterval?: number;
  checkpointOut?: string;
  checkpointOrigin?: string;
}

/**
 * The checkpoint options `serve` passes to `startServer`, from its flags: the key
 * loaded, the origin checked as `checkpoint --key` checks it, and `--checkpoint-out`
 * checked before the server starts. Undefined without `--checkpoint-key`.
 *
 * @throws CliError (exit 2) for a checkpoint flag without a key, an unreadable key, a
 * bad origin, or a `--checkpoint-out` that may not be written.
 */
export function serveCheckpoint(o: ServeCheckpointFlags & { db: string }): CheckpointOptions | undefined {
  if (o.checkpointKey === undefined) {
    const stray = (['checkpointEvery', 'checkpointInterval', 'checkpointOut', 'checkpointOrigin'] as const).find((k) => o[k] !== undefined);
    if (stray) throw new CliError(`--${stray.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} needs --checkpoint-key`);
    return undefined;
  }
  const signer = loadSigner(o.checkpointKey, '--checkpoint-key');
  const origin = noteOrigin(signer, o.checkpointOrigin, '--checkpoint-origin', '--checkpoint-key');
  if (o.checkpointEvery === 0) throw new CliError('--checkpoint-every must be at least 1');
  return {
    signer, origin,
    ...(o.checkpointEvery !== undefined ? { every: o.checkpointEvery } : {}),
    ...(o.checkpointInterval !== undefined ? { intervalSeconds: o.checkpointInterval } : {}),
    ...(o.checkpointOut !== undefined ? { publish: checkpointFile(o.checkpointOut, [o.db, o.checkpointKey], signer) } : {}),
  };
}

/**
 * The writer of `--checkpoint-out FILE`: each checkpoint replaces the file whole, through
 * the output-file guard (a temporary file, fsync, rename), its data written and synced
 * off the main thread. It replaces only a checkpoint
 * this key signed (so a file the server wrote, or `checkpoint --key` with the same key),
 * never the log or the key, never anything else: checked at start (a CliError, exit 2)
 * and again before every write (then the write is skipped and reported).
 */
function checkpointFile(file: string, protect: string[], signer: NoteVerifier): (note: string) => void {
  const guard = (): void => {
    checkOutFile(file, { force: true, protect });
    let exists = true;
    try {
      statSync(file);
    } catch {
      exists = false;
    }
    if (!exists) return;
    const opened = openNote(readText(file, 'checkpoint'), [signer]);
    if (typeof opened === 'string' || opened.good.length === 0 || typeof parseCheckpoint(opened.text) === 'string') {
      throw new CliError(`${showName(file)} exists and is not a checkpoint signed by ${showName(signer.name)}: not replacing it`);
    }
  };
  guard();
  return async (note) => {
    guard();
    // The data and its fsync go through the thread pool; the guard's rename is all the main thread does.
    await writeOutFile(file, async (tmp) => {
      const fh = await open(tmp, 'w');
      try {
        await fh.writeFile(note, 'utf8');
        await fh.sync();
      } finally {
        await fh.close();
      }
    }, { force: true, protect });
  };
}
