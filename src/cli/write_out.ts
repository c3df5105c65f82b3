import { writeOutFileSync } from './out_file.js';

/**
 * Writes one output file of the proof commands (keygen, checkpoint, bundle, witness,
 * export-tiles) through the output-file guard (`writeOutFileSync`): whole or not at all,
 * an existing file only with `force`, never a protected file (the log read, a key read).
 *
 * @throws CliError when the file is refused or cannot be written.
 */
export function writeOut(path: string, data: string | Uint8Array, force = false, mode?: number, protect: readonly string[] = []): void {
  writeOutFileSync(path, data, { force, protect, ...(mode !== undefined ? { mode } : {}) });
}
