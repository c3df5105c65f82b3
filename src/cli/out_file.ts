import { randomBytes } from 'node:crypto';
import { closeSync, constants, copyFileSync, fsyncSync, linkSync, lstatSync, openSync, realpathSync, renameSync, statSync, unlinkSync, writeSync, type Stats } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { CliError } from './common.js';

/** How `writeOutFile` may treat the file it writes. */
export interface OutFileOptions {
  /** Replace an existing regular file (the command's `--force`). Default: refuse. */
  force?: boolean;
  /**
   * Files that must never be written, whatever `force` says: typically the log the
   * command reads (`--db`) and a key it reads. Each is also protected with its
   * `-wal`, `-shm` and `-journal` files.
   */
  protect?: readonly string[];
  /** Permission bits of a new file (default 0o644, less the umask). */
  mode?: number;
}

/** The file's own stat, or null when nothing is there (a dangling symlink counts as something). */
function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new CliError(`cannot write ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** Where a path really is: the real path of an existing file, else the real directory plus the name. */
function realTarget(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    try {
      return join(realpathSync(dirname(resolve(path))), basename(path));
    } catch {
      return resolve(path);
    }
  }
}

function sameFile(a: Stats | null, b: Stats | null): boolean {
  return a !== null && b !== null && a.dev === b.dev && a.ino === b.ino;
}

function statOrNull(path: string): Stats | null {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}

/**
 * Checks that `path` may be written as a command's output, before the command does
 * its work (so that a refusal comes first, not after a long audit). `writeOutFile`
 * checks again when it writes.
 *
 * Refused, whatever `force` says: a protected file (compared by real path, through
 * symlinks, and by device and inode, through hard links), or its `-wal`, `-shm`,
 * `-journal`; a directory; anything that is not a regular file (a device node, a FIFO,
 * a socket), also behind a symlink. Refused without `force`: any existing file.
 *
 * @returns the real path that `writeOutFile` will replace (a symlink is resolved to
 * its target), or `path` when nothing exists there.
 * @throws CliError naming the file and why (the CLI exits 2).
 * @example
 * checkOutFile('audit.html', { force: o.force, protect: [o.db] });
 */
export function checkOutFile(path: string, opts: OutFileOptions = {}): string {
  const own = lstatOrNull(path);
  const target = realTarget(path);
  const st = statOrNull(path);
  for (const p of opts.protect ?? []) {
    if (p === ':memory:') continue;
    for (const suffix of ['', '-wal', '-shm', '-journal']) {
      const guarded = p + suffix;
      if (realTarget(guarded) === target || sameFile(st, statOrNull(guarded))) {
        throw new CliError(`${path} is ${suffix === '' ? p : `the ${suffix.slice(1)} file of ${p}`}, which this command reads: refusing to write over it (--force does not change that)`);
      }
    }
  }
  if (own === null) return path;
  if (st === null) {
    // A dangling symlink: writing would create a file wherever it points.
    throw new CliError(`${path} is a symbolic link to nothing: refusing to write through it`);
  }
  if (st.isDirectory()) throw new CliError(`${path} is a directory`);
  if (!st.isFile()) throw new CliError(`${path} is not a regular file: refusing to write over it`);
  if (!opts.force) throw new CliError(`${path} already exists: pass --force to replace it`);
  return own.isSymbolicLink() ? target : path;
}

/**
 * Writes a command's output file safely: the single place every `--out` goes through.
 *
 * The data goes to a new temporary file in the same directory (created with
 * `O_EXCL`, flushed with fsync), which then becomes `path` in one step: without
 * `force` by a hard link that fails if anything appeared at `path` meanwhile (never
 * replacing a file), with `force` by `rename` over the existing regular file. So a
 * reader never sees a half-written file, an existing file is replaced only with
 * `force`, and a protected file (`protect`, e.g. the log being read, with its
 * `-wal`/`-shm`) is never written, not even through a symlink or a hard link to it.
 * A symlink to an unprotected regular file is followed (with `force`): its target is
 * replaced, the link is kept.
 *
 * `data` is the content, or a function that fills the temporary file itself (given
 * its path; e.g. SQLite's backup API) and may be async.
 *
 * @throws CliError (exit 2) when the file is refused (see `checkOutFile`) or cannot
 * be written (missing directory, no permission, disk full); the temporary file is
 * removed and `path` is left as it was.
 * @example
 * await writeOutFile(o.out, report, { force: o.force, protect: [o.db] });
 * await writeOutFile('copy.db', (tmp) => db.backup(tmp), { protect: [o.db] });
 */
export async function writeOutFile(
  path: string,
  data: string | Uint8Array | ((tmpPath: string) => unknown),
  opts: OutFileOptions = {},
): Promise<void> {
  if (typeof data !== 'function') return writeOutFileSync(path, data, opts);
  await writeThrough(path, opts, (tmp) => data(tmp));
}

/**
 * `writeOutFile` for content in hand, synchronously: the same checks and the same
 * temporary file, fsync and link or rename.
 *
 * @throws CliError as `writeOutFile`.
 * @example
 * writeOutFileSync(`${prefix}.vkey`, vkey + '\n', { force: o.force });
 */
export function writeOutFileSync(path: string, data: string | Uint8Array, opts: OutFileOptions = {}): void {
  void writeThrough(path, opts, undefined, data);
}

/** The one writer: a temporary file beside the target, filled, fsynced, then linked or renamed into place. */
function writeThrough(path: string, opts: OutFileOptions, fill?: (tmpPath: string) => unknown, data?: string | Uint8Array): void | Promise<void> {
  const target = checkOutFile(path, opts);
  const tmp = join(dirname(target), `.${basename(target)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  let created = false;
  const cleanup = (): void => {
    if (!created) return;
    try {
      unlinkSync(tmp);
    } catch {
      // already gone
    }
  };
  const fail = (e: unknown): never => {
    cleanup();
    if (e instanceof CliError) throw e;
    throw new CliError(`cannot write ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  };
  const finish = (): void => {
    const fd2 = openSync(tmp, constants.O_RDONLY);
    try {
      fsyncSync(fd2);
    } finally {
      closeSync(fd2);
    }
    // Checked again: the file may have changed while the data was being made.
    if (checkOutFile(path, opts) !== target) throw new CliError(`${path} changed while it was being written: nothing written`);
    if (opts.force && lstatOrNull(target) !== null) {
      renameSync(tmp, target);
    } else {
      try {
        linkSync(tmp, target); // EEXIST if anything appeared there meanwhile
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EEXIST') throw new CliError(`${path} already exists: pass --force to replace it`);
        if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw e;
        copyFileSync(tmp, target, constants.COPYFILE_EXCL); // a file system without hard links
      }
      unlinkSync(tmp);
    }
    created = false;
  };
  try {
    const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, opts.mode ?? 0o644);
    created = true;
    try {
      if (data !== undefined) {
        const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
        for (let off = 0; off < buf.length;) off += writeSync(fd, buf, off, buf.length - off);
      }
    } finally {
      closeSync(fd);
    }
    if (fill) {
      return Promise.resolve()
        .then(() => fill(tmp))
        .then(finish)
        .catch(fail);
    }
    finish();
  } catch (e) {
    fail(e);
  }
}
