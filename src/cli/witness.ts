import type { Command } from 'commander';
import { hash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatCheckpoint, parseCheckpoint, type CheckpointBody } from '../tlog/checkpoint.js';
import { ALG_COSIGNATURE_V1, ALG_ED25519 } from '../tlog/keys.js';
import { openNote, signatureLine } from '../tlog/note.js';
import { verifyConsistency } from '../tlog/proof.js';
import { CliError } from './common.js';
import { loadSigner, loadVerifier, readText } from './note_keys.js';
import { writeOut } from './write_out.js';

/** The witness's memory of one log: the last checkpoint body it cosigned, in a file named by the origin's hash. */
function stateFile(dir: string, origin: string): string {
  return join(dir, `${hash('sha256', origin, 'hex')}.checkpoint`);
}

function refuse(message: string): void {
  process.stdout.write(`refused: ${message}\n`);
  process.exitCode = 1;
}

export function registerWitness(program: Command): void {
  program
    .command('witness')
    .description("cosign a log's C2SP checkpoint (tlog-cosignature) only if it extends the last one this witness cosigned for that origin: refuses forks and rollbacks")
    .argument('<checkpoint>', 'the signed checkpoint (C2SP signed note)')
    .requiredOption('--state <dir>', "the witness's state directory (created if missing): the last cosigned checkpoint per origin")
    .requiredOption('--log-vkey <key|file>', "the log's verifier key: the checkpoint must carry its signature")
    .requiredOption('--key <file>', 'the witness private key (keygen --witness --name ...)')
    .option('--proof <file>', 'a consistency proof JSON ("prove --old-size A --size B --json") from the last cosigned size to this one')
    .option('--out <file>', 'write the cosigned checkpoint here (default: stdout)')
    .option('--force', 'replace an existing --out file')
    .addHelpText('after', '\nExit status: 0 cosigned, 1 refused (naming both sizes), 2 for bad input.')
    .action((file: string, o: { state: string; logVkey: string; key: string; proof?: string; out?: string; force?: boolean }) => {
      const logKey = loadVerifier(o.logVkey, '--log-vkey');
      if (logKey.alg !== ALG_ED25519) throw new CliError('--log-vkey must be a log key (type 0x01)');
      const me = loadSigner(o.key, '--key');
      if (me.alg !== ALG_COSIGNATURE_V1) throw new CliError('--key must be a witness key (keygen --witness)');
      const note = readText(file, 'checkpoint');
      const opened = openNote(note, [logKey]);
      if (typeof opened === 'string') return refuse(`${file}: ${opened}`);
      if (opened.good.length === 0) return refuse(`${file} is not signed by ${logKey.name}`);
      const cp = parseCheckpoint(opened.text);
      if (typeof cp === 'string') return refuse(`${file}: ${cp}`);
      if (existsSync(o.state) && !statSync(o.state).isDirectory()) throw new CliError(`--state ${o.state} is not a directory`);
      mkdirSync(o.state, { recursive: true });
      const sf = stateFile(o.state, cp.origin);
      let old: CheckpointBody | null = null;
      if (existsSync(sf)) {
        const parsed = parseCheckpoint(readFileSync(sf, 'utf8'));
        if (typeof parsed === 'string') throw new CliError(`${sf}: the witness state is damaged: ${parsed}`);
        old = parsed;
      }
      if (old) {
        if (cp.size < old.size) return refuse(`rollback: ${cp.origin} size ${cp.size} is older than size ${old.size}, already cosigned`);
        if (cp.size === old.size && !cp.root.equals(old.root)) return refuse(`fork: ${cp.origin} size ${cp.size} has another root than the size ${old.size} already cosigned`);
        if (cp.size > old.size) {
          if (!o.proof) return refuse(`size ${cp.size} needs a consistency proof from size ${old.size} (already cosigned): pass --proof`);
          let p: { old_size?: unknown; tree_size?: unknown; hashes?: unknown };
          try {
            p = JSON.parse(readText(o.proof, 'proof')) as typeof p;
          } catch (e) {
            if (e instanceof CliError) throw e;
            throw new CliError(`${o.proof}: not JSON (a consistency proof from "prove --old-size A --size B --json" expected)`);
          }
          if (typeof p !== 'object' || p === null) throw new CliError(`${o.proof}: not a JSON object`);
          if (p.old_size !== old.size || p.tree_size !== cp.size) return refuse(`the proof is from size ${String(p.old_size)} to ${String(p.tree_size)}, size ${old.size} (cosigned) to ${cp.size} is needed`);
          if (!Array.isArray(p.hashes) || !p.hashes.every((h) => typeof h === 'string')) throw new CliError(`${o.proof}: hashes must be base64 strings`);
          const bad = verifyConsistency(old.size, cp.size, (p.hashes as string[]).map((h) => Buffer.from(h, 'base64')), old.root, cp.root);
          if (bad) return refuse(`fork: ${cp.origin} size ${cp.size} does not extend size ${old.size} (already cosigned): ${bad}`);
        }
      }
      const cosigned = note + signatureLine(opened.text, me);
      if (o.out) writeOut(o.out, cosigned, o.force, undefined, [o.key]);
      else process.stdout.write(cosigned);
      // The state moves only forward, and atomically: a crash leaves the old one or the new one.
      const tmp = `${sf}.tmp-${process.pid}`;
      writeFileSync(tmp, formatCheckpoint(cp));
      renameSync(tmp, sf);
      process.stderr.write(`cosigned ${cp.origin} size ${cp.size}${old ? ` (extends size ${old.size})` : ' (first checkpoint seen for this origin)'}\n`);
    });
}
