import { EntryLog } from '../store/log.js';
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { makeCheckpoint, readPrivateKey } from '../replay/checkpoint.js';
import { verifyLog } from '../replay/verify.js';
import { escapeControls, showName } from '../text/escape.js';
import { CliError, printJson } from './common.js';
import { openLogFile, ticker } from './open_log.js';
import { checkOutFile } from './out_file.js';
import { progress } from './progress.js';
import { writeOut } from './write_out.js';
import { signNoteCheckpoint } from './checkpoint_note.js';

export function registerCheckpoint(program: Command): void {
  program
    .command('checkpoint')
    .description("sign the log's size and tree root (C2SP checkpoint, with a key from keygen --name) or size and chain head (JSON, with a PEM key), after verifying the log: later, verify --checkpoint detects truncation and rewriting")
    .requiredOption('--db <path>', 'the SQLite log (opened read-only)')
    .requiredOption('--key <file>', 'the private key: a signed-note key (keygen --name) makes a C2SP checkpoint, a PKCS#8 PEM key the JSON one')
    .option('--origin <origin>', 'the C2SP checkpoint origin line (default: the key name)')
    .requiredOption('--out <file>', 'where to write the checkpoint (an existing file only with --force; never the log or the key)')
    .option('--force', 'replace an existing --out file')
    .option('--json', 'print the checkpoint on stdout as well')
    .addHelpText('after', '\nThe format and how to check a checkpoint with openssl: docs/checkpoint.md.\nExit status: 0 written, 1 when the log does not verify (nothing is signed), 2 for bad input.')
    .action(async (o: { db: string; key: string; origin?: string; out: string; force?: boolean; json?: boolean }) => {
      const outOpts = { force: o.force ?? false, protect: [o.db, o.key] };
      checkOutFile(o.out, outOpts);
      let pem: string;
      try {
        pem = readFileSync(o.key, 'utf8');
      } catch (e) {
        throw new CliError(`${o.key}: cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
      if (pem.trimStart().startsWith('PRIVATE+KEY+')) {
        await signNoteCheckpoint(o);
        return;
      }
      if (o.origin !== undefined) throw new CliError('--origin needs a signed-note key (keygen --name): a PEM key makes the JSON checkpoint, which has no origin');
      const key = readPrivateKey(pem);
      if (typeof key === 'string') throw new CliError(`${o.key}: ${key}`);
      const db = await openLogFile(o.db);
      let r;
      try {
        const total = new EntryLog(db).head().seq;
        const bar = progress('entries verified', total);
        const tick = ticker(bar);
        try {
          r = verifyLog(db, { onProgress: (n) => tick(n) });
        } finally {
          bar.done();
        }
      } finally {
        db.close();
      }
      if (!r.ok) {
        process.stdout.write(`not signed: seq ${r.bad!.seq} is bad: ${escapeControls(r.bad!.problem)}\n`);
        process.exitCode = 1;
        return;
      }
      if (r.size === 0) throw new CliError(`${o.db}: the log is empty, there is nothing to sign`);
      const cp = makeCheckpoint({ seq: r.size, chain: r.chain }, key, new Date().toISOString());
      writeOut(o.out, JSON.stringify(cp, null, 2) + '\n', o.force, undefined, [o.db, o.key]);
      if (o.json) printJson(cp);
      else process.stdout.write(`checkpoint ${showName(o.out)}: size ${cp.size}, chain ${cp.chain}, signed at ${cp.at}\n`);
    });
}
