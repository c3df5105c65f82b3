import type { Command } from 'commander';
import { LOOPBACK_HOSTS, startExplorer } from '../explore/server.js';
import { CliError, intArg } from './common.js';
import { readText } from './note_keys.js';
import { answering, openLogFile } from './open_log.js';

export function registerExplore(program: Command): void {
  program
    .command('explore')
    .description('the incident explorer: a timeline, a scrubber and the host at any moment, in the browser (loopback only)')
    .addHelpText('after', `\nServes a single-page app (no CDN: every file ships in the package) and its JSON API\non 127.0.0.1 until SIGINT or SIGTERM. Open the printed URL; every view has a URL\n(#seq=1234&vm=vm2) to paste into a ticket. The log is opened read-only.`)
    .requiredOption('--db <path>', 'the SQLite log')
    .option('--port <n>', 'the TCP port (0: any free port)', intArg('--port', 65535), 0)
    .option('--host <addr>', 'the loopback address to listen on (127.0.0.1, ::1 or localhost)', '127.0.0.1')
    .option('--open-url-only', 'print only the URL (one line, for scripts), then serve')
    .option('--checkpoint <file>', 'a C2SP checkpoint of this log (from "checkpoint --key"): "download evidence" gives the proofs bundle of the selected range against it; read again at each download')
    .action(async (o: { db: string; port: number; host: string; openUrlOnly?: boolean; checkpoint?: string }) => {
      if (o.checkpoint !== undefined) readText(o.checkpoint, 'checkpoint');
      if (!LOOPBACK_HOSTS.has(o.host)) throw new CliError(`--host ${o.host}: the explorer listens on loopback only (127.0.0.1, ::1 or localhost)`);
      const db = await openLogFile(o.db);
      let x;
      try {
        x = await answering(() => startExplorer(db, { host: o.host, port: o.port, ...(o.checkpoint !== undefined ? { checkpoint: () => readText(o.checkpoint!, 'checkpoint') } : {}) }));
      } catch (e) {
        db.close();
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EADDRINUSE' || code === 'EACCES') throw new CliError(`cannot listen on ${o.host}:${o.port}: ${code}`);
        throw e;
      }
      if (o.openUrlOnly) process.stdout.write(`${x.url}\n`);
      else {
        process.stdout.write(`pasid-ledger explore: ${o.db}, ${x.api.index.log.head().seq} entries\n  ${x.url}\n(Ctrl-C to stop)\n`);
        x.api.ready.then(
          () => process.stdout.write(`states and charts ready in ${Math.round(x.api.startupMs)} ms\n`),
          (e: Error) => process.stderr.write(`pasid-ledger: the start-up pass failed: ${e.message}\n`),
        );
      }
      await new Promise<void>((resolve) => {
        const stop = () => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          void x.close().then(resolve);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
      db.close();
    });
}
