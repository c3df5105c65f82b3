import type { ShipRefused, ShipResult } from '../fleet/ship.js';
import { escapeControls } from '../text/escape.js';
import { printJson } from './common.js';

/** One line on what a ship run did, as `ship` prints it. */
export function summary(r: ShipResult): string {
  const extra = [r.skipped > 0 ? `${r.skipped} already written by another shipper` : '', r.checkpoints > 0 ? `${r.checkpoints} checkpoint(s)` : ''].filter(Boolean).join(', ');
  return r.shipped > 0
    ? `host ${r.host}: shipped ${r.shipped} entries (seq ${r.head - r.shipped - r.skipped + 1} to ${r.head}); PostgreSQL holds seq 1 to ${r.head}${extra ? `; ${extra}` : ''}`
    : `host ${r.host}: up to date, PostgreSQL holds seq 1 to ${r.head}${extra ? `; ${extra}` : ''}`;
}

/** The end of a ship run (file or server source): the result as JSON, or its summary unless --follow already printed each batch. */
export function reportShip(r: ShipResult, o: { json?: boolean; follow?: boolean }): void {
  if (o.json) printJson(r);
  else if (!o.follow || r.shipped + r.skipped === 0) process.stdout.write(escapeControls(summary(r)) + '\n');
}

/** A following ship run stopped by SIGINT/SIGTERM before PostgreSQL was ready (connecting, migrating): nothing shipped, exit status 0. */
export function reportStopped(host: string, o: { json?: boolean }): void {
  if (o.json) printJson({ host, stopped: true, shipped: 0, skipped: 0, checkpoints: 0 });
  else process.stdout.write(escapeControls(`host ${host}: stopped before shipping; nothing shipped`) + '\n');
}

/** A refused ship run: the message on stderr (and as JSON with --json), exit status 1. */
export function reportRefused(e: ShipRefused, o: { json?: boolean }): void {
  process.stderr.write(`pasid-ledger: ${e.message}\n`);
  if (o.json) printJson({ host: e.host, refused: true, seq: e.seq, message: e.message });
  process.exitCode = 1;
}
