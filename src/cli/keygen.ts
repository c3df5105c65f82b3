import type { Command } from 'commander';
import { generateCheckpointKeys } from '../replay/checkpoint.js';
import { checkOutFile, writeOutFile } from './out_file.js';
import { showName } from '../text/escape.js';

export function registerKeygen(program: Command): void {
  program
    .command('keygen')
    .description('make an Ed25519 key pair for signing checkpoints: PREFIX.key (private, PKCS#8 PEM) and PREFIX.pub (public, SPKI PEM)')
    .requiredOption('--out <prefix>', 'path prefix of the two files')
    .option('--force', 'overwrite existing files')
    .action(async (o: { out: string; force?: boolean }) => {
      const keyFile = `${o.out}.key`;
      const pubFile = `${o.out}.pub`;
      const opts = { force: o.force ?? false };
      // Both refused or both written: neither file is touched when the other is in the way.
      for (const f of [keyFile, pubFile]) checkOutFile(f, opts);
      const { privatePem, publicPem } = generateCheckpointKeys();
      await writeOutFile(keyFile, privatePem, { ...opts, mode: 0o600 });
      await writeOutFile(pubFile, publicPem, opts);
      process.stdout.write(`wrote ${showName(keyFile)} (private: keep it secret) and ${showName(pubFile)} (public: give it to auditors)\n`);
    });
}
