import type { Command } from 'commander';
import { existsSync, writeFileSync } from 'node:fs';
import { generateCheckpointKeys } from '../replay/checkpoint.js';
import { showName } from '../text/escape.js';
import { CliError } from './common.js';

export function registerKeygen(program: Command): void {
  program
    .command('keygen')
    .description('make an Ed25519 key pair for signing checkpoints: PREFIX.key (private, PKCS#8 PEM) and PREFIX.pub (public, SPKI PEM)')
    .requiredOption('--out <prefix>', 'path prefix of the two files')
    .option('--force', 'overwrite existing files')
    .action((o: { out: string; force?: boolean }) => {
      const keyFile = `${o.out}.key`;
      const pubFile = `${o.out}.pub`;
      for (const f of [keyFile, pubFile]) {
        if (existsSync(f) && !o.force) throw new CliError(`${f} already exists: pass --force to replace it`);
      }
      const { privatePem, publicPem } = generateCheckpointKeys();
      try {
        writeFileSync(keyFile, privatePem, { mode: 0o600 });
        writeFileSync(pubFile, publicPem);
      } catch (e) {
        throw new CliError(`cannot write ${keyFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
      process.stdout.write(`wrote ${showName(keyFile)} (private: keep it secret) and ${showName(pubFile)} (public: give it to auditors)\n`);
    });
}
