import { existsSync, writeFileSync } from 'node:fs';
import { CliError } from './common.js';

/**
 * Writes one output file of the proof commands (keygen, checkpoint, bundle, witness,
 * export-tiles): refuses a file that exists unless `force`, and never follows into a
 * directory. The one place these commands write files.
 *
 * @throws CliError when the file exists (without force) or cannot be written.
 */
export function writeOut(path: string, data: string | Uint8Array, force = false, mode?: number): void {
  if (existsSync(path) && !force) throw new CliError(`${path} already exists: pass --force to replace it`);
  try {
    writeFileSync(path, data, { flag: force ? 'w' : 'wx', ...(mode !== undefined ? { mode } : {}) });
  } catch (e) {
    throw new CliError(`${path}: cannot write: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}
