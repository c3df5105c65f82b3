import type { Command } from 'commander';
import { generateCheckpointKeys } from '../replay/checkpoint.js';
import { checkOutFile } from './out_file.js';
import { showName } from '../text/escape.js';
import { ALG_COSIGNATURE_V1, ALG_ED25519, formatSignerKey, formatVerifierKey, generateSigner, keyNameProblem, signerPem } from '../tlog/keys.js';
import { CliError } from './common.js';
import { writeOut } from './write_out.js';

export function registerKeygen(program: Command): void {
  program
    .command('keygen')
    .description('make an Ed25519 key pair for signing checkpoints: PREFIX.key (private) and PREFIX.pub (public, SPKI PEM); with --name also PREFIX.vkey, the C2SP signed-note verifier key')
    .requiredOption('--out <prefix>', 'path prefix of the files')
    .option('--name <name>', 'the key name (e.g. the log origin "example.com/pasid-log"): PREFIX.key is then a signed-note key (PRIVATE+KEY+...) for C2SP checkpoints')
    .option('--witness', 'a witness (cosigner) key: C2SP tlog-cosignature, key type 0x04 (needs --name)')
    .option('--force', 'overwrite existing files')
    .addHelpText('after', '\nWithout --name, PREFIX.key is PKCS#8 PEM and "checkpoint" writes the old JSON format.\nFormats: docs/checkpoint.md.')
    .action((o: { out: string; name?: string; witness?: boolean; force?: boolean }) => {
      const keyFile = `${o.out}.key`;
      const pubFile = `${o.out}.pub`;
      const vkeyFile = `${o.out}.vkey`;
      if (o.witness && o.name === undefined) throw new CliError('--witness needs --name');
      const files = o.name === undefined ? [keyFile, pubFile] : [keyFile, pubFile, vkeyFile];
      // All refused or all written: no file is touched when another is in the way.
      for (const f of files) checkOutFile(f, { force: o.force ?? false });
      if (o.name === undefined) {
        const { privatePem, publicPem } = generateCheckpointKeys();
        writeOut(keyFile, privatePem, o.force, 0o600);
        writeOut(pubFile, publicPem, o.force);
        process.stdout.write(`wrote ${showName(keyFile)} (private: keep it secret) and ${showName(pubFile)} (public: give it to auditors)\n`);
        return;
      }
      const bad = keyNameProblem(o.name);
      if (bad) throw new CliError(`--name: ${bad}`);
      const signer = generateSigner(o.name, o.witness ? ALG_COSIGNATURE_V1 : ALG_ED25519);
      const vkey = formatVerifierKey(signer);
      writeOut(keyFile, formatSignerKey(signer) + '\n', o.force, 0o600);
      writeOut(pubFile, signerPem(signer).publicPem, o.force);
      writeOut(vkeyFile, vkey + '\n', o.force);
      process.stderr.write(`wrote ${showName(keyFile)} (private: keep it secret), ${showName(pubFile)} and ${showName(vkeyFile)} (the verifier key: give it to auditors${o.witness ? ' and logs' : ''})\n`);
      process.stdout.write(vkey + '\n');
    });
}
