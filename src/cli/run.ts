import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { openLedger, type Ledger } from '../ledger.js';
import { quote } from '../model/quote.js';
import { BatchRequestError, parseRequest, RequestError } from '../model/request.js';
import type { Request } from '../model/types.js';
import { canonicalEntry, canonicalJson } from '../store/canonical.js';
import { CliError, configOptions, intArg, type ConfigFlags } from './common.js';
import { fmtOutcome, outcomeJson } from './format.js';
import { progress } from './progress.js';
import { busyOption } from './busy.js';

/** Requests per transaction when running a file: one fsync per chunk. */
const CHUNK = 1000;

/**
 * Parses a request file: one JSON request per line; blank lines and lines starting
 * with `#` are skipped. Every line is checked before anything is applied (JSON, shape,
 * nesting, strings, and that its canonical text reads back), so any bad line refuses
 * the whole file and nothing is applied.
 *
 * @throws CliError naming the file, line and what is wrong (values quoted to 80 characters).
 */
export function parseRequestFile(text: string, name: string, lineNumbers: number[] = []): Request[] {
  const out: Request[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      const why = e instanceof RangeError ? 'nested too deeply to read' : `not JSON: ${(e as Error).message}`;
      throw new CliError(`${name}:${i + 1}: ${why}; nothing was applied`);
    }
    let req: Request;
    try {
      req = parseRequest(value);
    } catch (e) {
      if (e instanceof RequestError) throw new CliError(`${name}:${i + 1}: ${e.message}; nothing was applied`);
      throw e;
    }
    try {
      // The request entry will hold this request: prove now, not mid-file, that it can be logged.
      canonicalEntry(req as unknown as Record<string, unknown>);
    } catch (e) {
      throw new CliError(`${name}:${i + 1}: the request cannot be logged as JSON (${(e as Error).message}); nothing was applied`);
    }
    out.push(req);
    lineNumbers.push(i + 1);
  }
  return out;
}

/**
 * Refuses, before anything is applied, a request id the file reuses for a different
 * request, or one the log recorded for a different request: either would be refused
 * mid-file. The same request repeated under its id is a retry, and fine.
 *
 * @throws CliError naming the line.
 */
function checkRequestIds(ledger: Ledger, reqs: readonly Request[], lines: readonly number[], name: string): void {
  const seen = new Map<string, { text: string; line: number }>();
  reqs.forEach((r, j) => {
    if (r.id === undefined) return;
    const { id, ...asked } = r;
    const text = canonicalJson(asked);
    const first = seen.get(id);
    if (first) {
      if (first.text !== text) throw new CliError(`${name}:${lines[j]}: request id ${quote(id)} was used by a different request (line ${first.line}); nothing was applied`);
      return;
    }
    seen.set(id, { text, line: lines[j]! });
    const why = ledger.idConflict(r);
    if (why) throw new CliError(`${name}:${lines[j]}: ${why}; nothing was applied`);
  });
}

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('execute a request file (one JSON request per line) against a log')
    .argument('<file>', 'the request file, or - for standard input')
    .requiredOption('--db <path>', 'the SQLite log (created if missing)')
    .option('--json', 'print one JSON outcome per line: {"seq","ret","pasid","reason"}, plus "hex" (raw struct, GET_INFO reply), "value" (register or config read) and "info" (GET_INFO meaning) where they apply')
    .option('--profile <v1|v7>', 'kernel profile of a new log: v1 (March 2020 series, default) or v7 (its last revision)')
    .option('--pasid-quota <n>', 'pasid_quota of a new log (default 1000)', intArg('--pasid-quota', 0x7fffffff))
    .option('--capacity <n>', 'PASIDs the host can hand out in all (default 1 << pasid_bits)', intArg('--capacity', 2 ** 32))
    .option('--pasid-bits <n>', 'PASID width of a new log (default 20)', intArg('--pasid-bits', 20))
    .option('--pasid-cap-exposure <hidden|exposed>', 'how vfio-pci shows devices\' PASID capability to the guest: hidden (mainline, default) or exposed (the seed patch)')
    .addOption(busyOption())
    .addHelpText('after', '\nA new log takes the configuration flags; an existing log keeps the configuration it\nwas created with, and a flag that differs from it is refused.\nExit status: 0 when every request ran (whatever its errno), 2 for bad input.')
    .action(async (file: string, o: { db: string; json?: boolean; busyTimeout: number } & ConfigFlags) => {
      const name = file === '-' ? '<stdin>' : file;
      let text: string;
      try {
        text = readFileSync(file === '-' ? 0 : file, 'utf8');
      } catch (e) {
        throw new CliError(`${name}: cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
      const lines: number[] = [];
      const reqs = parseRequestFile(text, name, lines);
      const ledger = await openLedger(o.db, { ...configOptions(o), busyTimeout: o.busyTimeout });
      try {
        checkRequestIds(ledger, reqs, lines, name);
      } catch (e) {
        ledger.close();
        throw e;
      }
      const bar = progress('requests', reqs.length);
      try {
        for (let i = 0; i < reqs.length; i += CHUNK) {
          const chunk = reqs.slice(i, i + CHUNK);
          let outs;
          try {
            outs = ledger.batch(chunk);
          } catch (e) {
            // Only a request id reused for another request gets here, recorded by another
            // process since checkRequestIds: refused at run time.
            if (!(e instanceof BatchRequestError)) throw e;
            const line = lines[i + e.index];
            const first = lines[i] ?? line;
            throw new CliError(`${name}:${line}: ${e.detail.replace('; nothing was written', '')}; ${i === 0 ? 'nothing was applied' : `lines before ${first} were applied, nothing from line ${first} on`}`);
          }
          const printed = outs.map((out, j) => (o.json ? outcomeJson(out) : fmtOutcome(out, chunk[j]!.op)));
          process.stdout.write(printed.join('\n') + (printed.length ? '\n' : ''));
          bar.tick(chunk.length);
        }
      } finally {
        bar.done();
        ledger.close();
      }
    });
}
