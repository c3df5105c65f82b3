import { spawn, type ChildProcess } from 'node:child_process';
import { CLI } from '../helpers.js';

/**
 * Starts `pasid-ledger serve --db DB --socket SOCKET` as a real process and resolves once
 * it says it listens (on stderr); rejects with its stderr if it exits first. `more`: further
 * options of serve.
 *
 * @example
 * const child = await serveProcess(db, join(dir, 's.sock'));
 */
export function serveProcess(db: string, socket: string, more: string[] = []): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'serve', '--db', db, '--socket', socket, ...more], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (c: Buffer) => {
      err += c.toString();
      if (err.includes('listening on')) resolve(child);
    });
    child.on('exit', (code) => reject(new Error(`serve exited ${code}: ${err}`)));
  });
}
