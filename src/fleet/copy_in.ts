import type pg from 'pg';
import copyStreams from 'pg-copy-streams';
import { EXPORT_COLUMNS, type ExportRow } from '../store/export_rows.js';

/** The columns of `entries` a shipped row fills, in the order of {@link copyText}'s fields: the host, then an {@link ExportRow}'s. */
export const ENTRY_COLUMNS = ['host', ...EXPORT_COLUMNS].join(', ');

/** `COPY entries FROM STDIN` in text format: the statement {@link copyText}'s lines feed. */
export const COPY_ENTRIES = `COPY entries (${ENTRY_COLUMNS}) FROM STDIN`;

const SPECIAL = /[\\\n\r\t]/;
const SPECIALS = /[\\\n\r\t]/g;
const ESCAPED: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** One field in COPY's text format: `\N` for NULL; backslash, newline, carriage return and tab escaped. */
function field(v: unknown): string {
  if (v === null || v === undefined) return '\\N';
  const s = typeof v === 'string' ? v : String(v);
  return SPECIAL.test(s) ? s.replace(SPECIALS, (ch) => ESCAPED[ch]!) : s;
}

/**
 * Rows of one host as the data of {@link COPY_ENTRIES}: one line per row, its fields
 * tab-separated in the order of {@link ENTRY_COLUMNS}, any text escaped (a stored text may
 * hold a backslash, a tab or a newline; it arrives byte for byte).
 *
 * @example
 * copyText('node-7', exportRows(db, 0, 2)); // "node-7\t1\t{...}\t<leaf>\t<chain>\t...\n" twice
 */
export function copyText(host: string, rows: readonly ExportRow[]): string {
  const h = field(host);
  let s = '';
  for (const r of rows) {
    s += `${h}\t${field(r[0])}\t${field(r[1])}\t${field(r[2])}\t${field(r[3])}\t${field(r[4])}\t${field(r[5])}\t${field(r[6])}\t`
      + `${field(r[7])}\t${field(r[8])}\t${field(r[9])}\t${field(r[10])}\t${field(r[11])}\t${field(r[12])}\t${field(r[13])}\n`;
  }
  return s;
}

/**
 * Sends `sql`, a query string whose last statement is a `COPY ... FROM STDIN`, and
 * `data` as the COPY's input; resolves with the rows copied once PostgreSQL is ready for
 * the next query (a multi-statement string is one implicit transaction: all or nothing).
 *
 * @throws the server's error (the COPY and everything before it in `sql` rolled back when
 * they run as one implicit transaction; an explicit transaction is left aborted).
 * @example
 * await copyIn(client, COPY_ENTRIES, copyText('node-7', rows)); // rows.length
 */
export function copyIn(c: pg.Client, sql: string, data: string): Promise<number> {
  const s = c.query(copyStreams.from(sql));
  return new Promise<number>((resolve, reject) => {
    s.once('error', reject);
    s.once('finish', () => resolve(s.rowCount));
    s.end(data);
  });
}
