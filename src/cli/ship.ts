import type { Command } from 'commander';
import { hostName } from '../fleet/host_name.js';
import { followLog, shipLog, ShipRefused, type ShipResult } from '../fleet/ship.js';
import { CliError, intArg } from './common.js';
import { escapeControls } from '../text/escape.js';
import { openLogFile } from './open_log.js';
import { progress } from './progress.js';
import { reportRefused, reportShip, reportStopped, summary } from './ship_report.js';
import { openShipTarget, stopSignals } from './ship_stop.js';
import { shipServer } from './ship_server.js';

const HELP = `
Copies the log's entries into PostgreSQL under the host's name: exactly as stored
(canonical text, leaf, chain, indexing columns), in transactions of --batch entries,
each accepted only if it continues the host's chain there (checked by the shipper under
the host's head row locked FOR UPDATE, and again by the server's trigger with sha256()).
Resumable and idempotent: it starts after the last seq PostgreSQL holds for the host.
The log file is opened read-only. The schema is created or upgraded first. Signed
checkpoints the log keeps in a checkpoints table follow the entries they sign.

A log that no longer matches what was shipped (rewritten, truncated, forked) is refused,
naming the host and the first differing seq; nothing is written.

--follow keeps shipping as the log grows, polling the file every --interval ms, until
SIGINT or SIGTERM (the batch in flight completes; exit 0).

--from-server SOCKET reads the entries from a running server (GET /v1/entries) instead
of the file, with an admin or auditor token (--token-file, --token or
$PASID_LEDGER_TOKEN): each entry's text exactly, its leaf and chain recomputed here,
appended as above, then its stored checkpoints (GET /v1/checkpoints). Without
--follow it stops at the server's head; with --follow it tails the server's stream
(no polling), reconnecting with backoff when the server restarts, until SIGINT or
SIGTERM (the batch in flight completes; exit 0).
(serve --ship-to URL ships from inside the server instead.)

With --follow, a SIGINT or SIGTERM while it still connects to PostgreSQL or migrates
the schema closes those connections (a migration rolls back) and exits 0 with nothing
shipped ("stopped before shipping"). Without --follow a signal takes its default
action (the process is killed; a batch is one transaction, never half shipped).

Exit status: 0 shipped (or nothing to ship), 1 refused, 2 bad input or unusable
database or server.

Examples:
  pasid-ledger ship --db /var/lib/pasid-ledger/host.db --to postgres://ledger@db.example/fleet
  pasid-ledger ship --db host.db --to "$PASID_LEDGER_PG" --host node-0042 --follow
  pasid-ledger ship --from-server /run/pasid-ledger.sock --token-file /etc/pasid-ledger/ship.token --follow`;

export interface ShipFlags {
  db?: string; fromServer?: string; token?: string; tokenFile?: string; to?: string; host?: string;
  batch: number; follow?: boolean; interval: number; json?: boolean;
}

export function registerShip(program: Command): void {
  program
    .command('ship')
    .description("copy the log's entries into PostgreSQL under the host's name, verified on arrival; resumable, idempotent")
    .option('--db <path>', 'the SQLite log (opened read-only)')
    .option('--from-server <socket>', "instead of --db: read the entries from a running server's /v1/entries on this Unix socket")
    .option('--token <secret>', 'with --from-server: an admin or auditor token (default $PASID_LEDGER_TOKEN)')
    .option('--token-file <file>', 'with --from-server: read the token from this file')
    .option('--to <url>', 'the fleet PostgreSQL (postgres://...); default $PASID_LEDGER_PG')
    .option('--host <name>', "the host's name in the fleet (default: this machine's hostname)")
    .option('--batch <n>', 'entries per transaction', intArg('--batch', 100_000), 1000)
    .option('--follow', 'keep shipping as the log grows, until SIGINT/SIGTERM')
    .option('--interval <ms>', 'with --follow: how often to look for new entries', intArg('--interval', 3_600_000), 1000)
    .option('--json', 'print the outcome as JSON')
    .addHelpText('after', HELP)
    .action(async (o: ShipFlags) => {
      const url = o.to ?? process.env.PASID_LEDGER_PG;
      if (!url) throw new CliError('no PostgreSQL URL: give --to postgres://... or set PASID_LEDGER_PG');
      if (o.batch < 1) throw new CliError('--batch must be at least 1');
      if ((o.db === undefined) === (o.fromServer === undefined)) throw new CliError('give --db DB or --from-server SOCKET (one of them)');
      const host = hostName(o.host);
      if (o.fromServer !== undefined) return shipServer(o, o.fromServer, url, host);
      if (o.token !== undefined || o.tokenFile !== undefined) throw new CliError('--token and --token-file go with --from-server');
      // --follow: SIGINT/SIGTERM stop cleanly (exit 0) from here on, also while connecting and migrating.
      const stop = o.follow ? stopSignals() : null;
      try {
        const db = await openLogFile(o.db!);
        try {
          const c = await openShipTarget(url, stop?.signal);
          if (c === null) return reportStopped(host, o);
          try {
            let r: ShipResult;
            if (stop) {
              r = await followLog(db, c, {
                host, batch: o.batch, intervalMs: Math.max(10, o.interval), signal: stop.signal,
                onShip: (x) => { if (!o.json) process.stdout.write(escapeControls(summary(x)) + '\n'); },
              });
            } else {
              let bar: ReturnType<typeof progress> | null = null;
              let last = 0;
              r = await shipLog(db, c, {
                host, batch: o.batch,
                onBatch: (head, local) => {
                  bar ??= progress('entries shipped', local - head + o.batch);
                  if (last > 0) bar.tick(head - last);
                  last = head;
                },
              });
              (bar as ReturnType<typeof progress> | null)?.done();
            }
            reportShip(r, o);
          } catch (e) {
            if (e instanceof ShipRefused) return reportRefused(e, o);
            throw e;
          } finally {
            await c.end();
          }
        } finally {
          db.close();
        }
      } finally {
        stop?.dispose();
      }
    });
}
