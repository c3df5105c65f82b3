import type { Command } from 'commander';
import { DEFAULT_MAX_BODY, ServeError } from '../server/errors.js';
import { CliError, configOptions, intArg, type ConfigFlags } from './common.js';
import type { ServeCheckpointFlags } from './serve_checkpoint.js';
import { showName } from '../text/escape.js';

function modeArg(v: string): number {
  if (!/^0?[0-7]{3}$/.test(v)) throw new CliError(`--socket-mode must be an octal mode like 0660, not ${JSON.stringify(v)}`);
  return parseInt(v, 8);
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the PASID authority as a local daemon: HTTP/1.1 + JSON on a Unix socket, the single writer of the log')
    .requiredOption('--db <path>', 'the SQLite log (created if missing)')
    .requiredOption('--socket <path>', 'the Unix domain socket to listen on')
    .option('--socket-mode <octal>', 'mode of the socket file (default 0660)', modeArg)
    .option('--listen <host:port>', 'also listen on TCP (loopback, or any address with --tls-cert and --tls-key)')
    .option('--tls-cert <file>', 'PEM certificate for --listen')
    .option('--tls-key <file>', 'PEM private key for --listen')
    .option('--max-body <bytes>', `largest request body (default ${DEFAULT_MAX_BODY})`, intArg('--max-body', 2 ** 30))
    .option('--profile <v1|v7>', 'kernel profile of a new log')
    .option('--pasid-quota <n>', 'pasid_quota of a new log (default 1000)', intArg('--pasid-quota', 0x7fffffff))
    .option('--capacity <n>', 'PASIDs the host can hand out in all', intArg('--capacity', 2 ** 32))
    .option('--pasid-bits <n>', 'PASID width of a new log (default 20)', intArg('--pasid-bits', 20))
    // Signed checkpoints (docs/checkpoint.md, "Checkpoints from serve").
    .option('--checkpoint-key <file>', 'sign a C2SP checkpoint with this signed-note key (keygen --name) at start and as the log grows; GET /checkpoint serves it')
    .option('--checkpoint-every <n>', 'sign after this many new entries (default 1000)', intArg('--checkpoint-every'))
    .option('--checkpoint-interval <seconds>', 'also sign every this many seconds when the log grew', intArg('--checkpoint-interval', 86400))
    .option('--checkpoint-out <file>', 'also write each checkpoint to this file, atomically (it replaces only a checkpoint of the same key)')
    .option('--checkpoint-origin <origin>', 'the checkpoint origin line (default: the key name)')
    .option('--ship-to <url>', 'ship the committed entries into this fleet PostgreSQL from inside the server (like ship, verified on arrival)')
    .option('--ship-host <name>', "with --ship-to: the host's name in the fleet (default: this machine's hostname)")
    .addHelpText('after', '\nAPI: docs/http-api.md (OpenAPI: docs/openapi.json). Tokens: pasid-ledger token add.\nSIGTERM/SIGINT: stop accepting, commit what was accepted, close, exit 0;\nwith --checkpoint-key, first sign (and write to --checkpoint-out) a last checkpoint\nof the final head when it grew since the last one (a failure: one line on stderr).\n--ship-to URL: a background loop ships each commit into the fleet PostgreSQL (docs/fleet.md);\nits errors are logged on stderr and retried with backoff, never failing a request;\non SIGTERM it ships what was committed before exiting.\nIt prints one line "listening on PATH" on stderr when ready.')
    .action(async (o: { db: string; socket: string; socketMode?: number; listen?: string; tlsCert?: string; tlsKey?: string; maxBody?: number; shipTo?: string; shipHost?: string } & ConfigFlags & ServeCheckpointFlags) => {
      if ((o.tlsCert === undefined) !== (o.tlsKey === undefined)) throw new CliError('give both --tls-cert and --tls-key, or neither');
      if (o.shipHost !== undefined && o.shipTo === undefined) throw new CliError('--ship-host goes with --ship-to');
      const checkpoint = (await import('./serve_checkpoint.js')).serveCheckpoint(o);
      const ship = o.shipTo !== undefined ? { url: o.shipTo, host: (await import('../fleet/host_name.js')).hostName(o.shipHost) } : undefined;
      const { startServer } = await import('../server/server.js');
      let server;
      try {
        server = await startServer({
          db: o.db, socket: o.socket, ledger: configOptions(o),
          ...(o.socketMode !== undefined ? { socketMode: o.socketMode } : {}),
          ...(o.listen !== undefined ? { listen: o.listen } : {}),
          ...(o.tlsCert !== undefined ? { tlsCert: o.tlsCert, tlsKey: o.tlsKey! } : {}),
          ...(o.maxBody !== undefined ? { maxBody: o.maxBody } : {}),
          ...(checkpoint ? { checkpoint } : {}),
          ...(ship ? { ship } : {}),
        });
      } catch (e) {
        if (e instanceof ServeError) throw new CliError(e.message);
        throw e;
      }
      const cp = server.service.checkpoints?.latest;
      if (checkpoint) process.stderr.write(`pasid-ledger: signing checkpoints of ${showName(checkpoint.origin!)} as ${showName(checkpoint.signer.name)}${cp ? `, size ${cp.size} signed` : ''}\n`);
      process.stderr.write(`pasid-ledger: listening on ${server.socket}${server.port !== null ? ` and port ${server.port}` : ''} (log ${o.db}, head seq ${server.ledger.head().seq})\n`);
      await new Promise<void>((resolve) => {
        const bye = () => {
          process.off('SIGTERM', bye);
          process.off('SIGINT', bye);
          server.stop().then(resolve, (e: unknown) => {
            process.stderr.write(`pasid-ledger: internal error while stopping: ${(e as Error).message}\n`);
            process.exitCode = 70;
            resolve();
          });
        };
        process.on('SIGTERM', bye);
        process.on('SIGINT', bye);
      });
    });
}
