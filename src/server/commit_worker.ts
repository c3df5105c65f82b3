/**
 * The server's writer thread: owns the log's only writing connection and runs each
 * group commit (`Ledger.group`), so that the main thread parses and answers HTTP while
 * a commit waits for its fsync. Messages in: `group`, `grant`, `revoke`, `close`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openLedger, type GroupItem } from '../ledger.js';
import { RequestError } from '../model/request.js';
import { vmmBatchRefusal, type TokenRole } from '../model/token.js';
import type { WireItem, WorkerReply, WorkerRequest } from './wire.js';

const port = parentPort!;
const { db, options } = workerData as { db: string; options: Record<string, unknown> };

const toItem = (w: WireItem): GroupItem => ({
  reqs: w.reqs,
  ...(w.by !== undefined ? { by: w.by } : {}),
  ...(w.vmm !== undefined ? { admit: (s, rs) => vmmBatchRefusal(s, w.vmm!, rs) } : {}),
});

try {
  const ledger = await openLedger(db, options);
  port.on('message', (m: WorkerRequest) => {
    const reply = (r: WorkerReply) => port.postMessage(r);
    try {
      switch (m.kind) {
        case 'group': {
          const t0 = process.hrtime.bigint();
          const results = ledger.group(m.items.map(toItem));
          reply({ id: m.id, ok: true, results, seconds: Number(process.hrtime.bigint() - t0) / 1e9 });
          return;
        }
        case 'grant':
          reply({ id: m.id, ok: true, grant: ledger.grantToken(m.role as TokenRole, m.vm) });
          return;
        case 'revoke':
          reply({ id: m.id, ok: true, revoked: ledger.revokeToken(m.token) });
          return;
        case 'close':
          ledger.close();
          reply({ id: m.id, ok: true });
          return;
      }
    } catch (e) {
      reply({ id: m.id, ok: false, error: (e as Error).message, refused: e instanceof RequestError });
    }
  });
  port.postMessage({ id: 0, ok: true, ready: true } satisfies WorkerReply);
} catch (e) {
  port.postMessage({ id: 0, ok: false, error: (e as Error).message, refused: false } satisfies WorkerReply);
}
