import { lstatSync, rmSync } from 'node:fs';
import { holdsLog, openDatabase, StoreError } from '../store/open.js';
import { CliError } from './common.js';

/**
 * Deletes the pasid-ledger log at `path` and its `-wal`, `-shm` and `-journal` files,
 * for `demo --fresh`. Only a log is deleted: a regular file (not a symlink, directory
 * or device) that is a SQLite database holding the `entries` table of the log's
 * schema. It is examined read-only first, so a file that is refused is left as it was.
 *
 * @throws CliError (exit 2) for anything that is not a pasid-ledger log.
 * @example
 * if (existsSync(o.db)) removeOwnLog(o.db);
 */
export function removeOwnLog(path: string): void {
  const st = lstatSync(path);
  if (!st.isFile()) {
    const what = st.isDirectory() ? 'a directory' : st.isSymbolicLink() ? 'a symbolic link' : 'not a regular file';
    throw new CliError(`${path} is ${what}, not a pasid-ledger log: refusing to delete it`);
  }
  let ours = false;
  try {
    const db = openDatabase(path, { readonly: true, mustExist: true });
    try {
      ours = holdsLog(db);
    } finally {
      db.close();
    }
  } catch (e) {
    if (!(e instanceof StoreError)) throw e;
  }
  if (!ours) throw new CliError(`${path} is not a pasid-ledger log: refusing to delete it (--db another file)`);
  for (const suffix of ['-wal', '-shm', '-journal']) {
    const side = path + suffix;
    let sst;
    try {
      sst = lstatSync(side);
    } catch {
      continue;
    }
    if (sst.isFile()) rmSync(side);
  }
  rmSync(path);
}
