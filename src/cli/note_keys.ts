import { existsSync, readFileSync, statSync } from 'node:fs';
import { parseSignerKey, parseVerifierKey, type NoteSigner, type NoteVerifier } from '../tlog/keys.js';
import { CliError } from './common.js';

/** Reads a small text file for a command, as a CliError when it cannot. */
export function readText(file: string, what = 'file'): string {
  try {
    if (statSync(file).size > 64 * 1024 * 1024) throw new CliError(`${file}: too large for a ${what}`);
    return readFileSync(file, 'utf8');
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError(`${file}: cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** A verifier key given inline (`name+id+base64`) or as a file holding one. */
export function loadVerifier(arg: string, flag: string): NoteVerifier {
  const inline = !existsSync(arg) && /^[^+\s]+\+[0-9a-f]{8}\+/.test(arg);
  const v = parseVerifierKey(inline ? arg : readText(arg, 'verifier key'));
  if (typeof v === 'string') throw new CliError(`${flag} ${inline ? 'key' : arg}: ${v}`);
  return v;
}

/** A signed-note private key file (`PRIVATE+KEY+...`, from `keygen --name`). */
export function loadSigner(file: string, flag: string): NoteSigner {
  const s = parseSignerKey(readText(file, 'key'));
  if (typeof s === 'string') throw new CliError(`${flag} ${file}: ${s}`);
  return s;
}
