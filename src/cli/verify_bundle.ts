import type { Command } from 'commander';
import type { Entry } from '../model/types.js';
import { verifyBundle } from '../tlog/bundle.js';
import { CliError, printJson } from './common.js';
import { fmtEntry } from './format.js';
import { loadVerifier, readText } from './note_keys.js';

/** One entry as a readable line; an entry type this version does not know is shown as its text. Control characters are escaped. */
function readable(text: string): string {
  let line = text;
  try {
    const e = JSON.parse(text) as Record<string, unknown>;
    const known = e.type === 'config' || e.type === 'request' || (e.type === 'transition' && typeof e.machine === 'string');
    if (known) line = fmtEntry(e as unknown as Entry);
  } catch {
    // Not JSON: shown as it is (the proof check has already said whether it belongs).
  }
  return line.replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export function registerVerifyBundle(program: Command): void {
  program
    .command('verify-bundle')
    .description('check a bundle from "pasid-ledger bundle" with no database: the checkpoint signature, each entry\'s leaf from its text, each inclusion proof')
    .argument('<file>', 'the bundle (JSON)')
    .requiredOption('--vkey <key|file>', "the log's verifier key (name+id+base64, or a file holding it)")
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExit status: 0 when every entry is proved, 1 naming the first bad entry, 2 for bad input.')
    .action((file: string, o: { vkey: string; json?: boolean }) => {
      const key = loadVerifier(o.vkey, '--vkey');
      if (key.alg !== 0x01) throw new CliError('--vkey must be the log key (type 0x01), not a witness key');
      const r = verifyBundle(readText(file, 'bundle'), [key]);
      if ('problem' in r) {
        if (o.json) printJson({ ok: false, seq: r.seq, problem: r.problem });
        else process.stdout.write(`${file}: ${r.seq !== null ? `entry ${r.seq}: ` : ''}${r.problem}\n`);
        process.exitCode = 1;
        return;
      }
      const first = r.entries[0]!.seq;
      const last = r.entries[r.entries.length - 1]!.seq;
      const what = first === last ? `entry ${first} belongs` : `entries ${first}–${last} belong`;
      const claim = `${what} to ${r.checkpoint.origin}, whose size-${r.checkpoint.size} checkpoint was signed by ${r.signers.join(', ')}`;
      if (o.json) printJson({ ok: true, origin: r.checkpoint.origin, size: r.checkpoint.size, signers: r.signers, entries: r.entries.map((e) => JSON.parse(e.entry) as unknown), proved: claim });
      else process.stdout.write(`${r.entries.map((e) => readable(e.entry)).join('\n')}\nok: ${claim}\n`);
    });
}
