import type { Command } from 'commander';
import { openLedger } from '../ledger.js';
import { TOKEN_ROLES, TokenBook, type TokenRole } from '../model/token.js';
import { tokenRows } from '../store/token_rows.js';
import { CliError, openExisting, printJson } from './common.js';
import { showName } from '../text/escape.js';
import { existsSync } from 'node:fs';

export function registerToken(program: Command): void {
  const token = program.command('token').description('grant, list and revoke the server\'s bearer tokens (each a log entry; only the secret\'s SHA-256 is kept)');
  token
    .command('add')
    .description('grant a token and print its secret once on stdout (one line, nothing else)')
    .requiredOption('--db <path>', 'the SQLite log')
    .requiredOption('--role <role>', `vmm (acts only as --vm), admin (everything) or auditor (GET only)`)
    .option('--vm <name>', 'the vm a vmm token acts as')
    .action(async (o: { db: string; role: string; vm?: string }) => {
      if (!TOKEN_ROLES.includes(o.role as TokenRole)) throw new CliError(`--role must be one of ${TOKEN_ROLES.join(', ')}`);
      if ((o.role === 'vmm') !== (o.vm !== undefined)) throw new CliError(o.role === 'vmm' ? 'a vmm token needs --vm' : `an ${o.role} token takes no --vm`);
      if (!existsSync(o.db)) throw new CliError(`${o.db}: no such file (create a log with "pasid-ledger run" or "pasid-ledger demo")`);
      const ledger = await openLedger(o.db, { mustExist: true });
      try {
        const t = ledger.grantToken(o.role as TokenRole, o.vm);
        process.stdout.write(`${t.secret}\n`);
        process.stderr.write(`pasid-ledger: granted ${t.token} (${o.role}${o.vm !== undefined ? ` for ${o.vm}` : ''}); the secret is shown only now\n`);
      } finally {
        ledger.close();
      }
    });
  token
    .command('list')
    .description('the tokens the log granted: id, role, vm, granted and revoked seq (never a secret)')
    .requiredOption('--db <path>', 'the SQLite log')
    .option('--json', 'print JSON')
    .action(async (o: { db: string; json?: boolean }) => {
      const ledger = await openExisting(o.db);
      try {
        const book = new TokenBook();
        for (const row of tokenRows(ledger.db, 0, ledger.head().seq)) book.apply(JSON.parse(row.entry) as Record<string, unknown>);
        const list = book.list().map((t) => ({ token: t.token, role: t.role, vm: t.vm, added: t.added, revoked: t.revoked }));
        if (o.json) return printJson(list);
        if (list.length === 0) process.stdout.write('no tokens\n');
        for (const t of list) process.stdout.write(`${t.token}  ${t.role}${t.vm !== null ? ` ${showName(t.vm)}` : ''}  granted at seq ${t.added}${t.revoked !== null ? `  revoked at seq ${t.revoked}` : ''}\n`);
      } finally {
        ledger.close();
      }
    });
  token
    .command('revoke')
    .description('revoke a token: requests presenting it get 401 from then on')
    .argument('<id>', 'the token id (tok-N), as token list shows it')
    .requiredOption('--db <path>', 'the SQLite log')
    .action(async (id: string, o: { db: string }) => {
      if (!existsSync(o.db)) throw new CliError(`${o.db}: no such file`);
      const ledger = await openLedger(o.db, { mustExist: true });
      try {
        const seq = ledger.revokeToken(id);
        process.stdout.write(`revoked ${id} at seq ${seq}\n`);
      } finally {
        ledger.close();
      }
    });
}
