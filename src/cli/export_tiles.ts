import type { Command } from 'commander';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { EntryLog } from '../store/log.js';
import { entryBundle, tilePath, tilesOf, TILE_HEIGHT, TILE_WIDTH } from '../tlog/tiles.js';
import { CliError } from './common.js';
import { openLogFile } from './open_log.js';
import { progress } from './progress.js';
import { loadNoteCheckpoint } from './prove.js';
import { writeOut } from './write_out.js';

export function registerExportTiles(program: Command): void {
  program
    .command('export-tiles')
    .description('write the log as a static C2SP tlog-tiles tree (checkpoint, tile/<L>/<N>, tile/entries/<N>) that any web server can host')
    .requiredOption('--db <path>', 'the SQLite log (opened read-only)')
    .requiredOption('--checkpoint <file>', 'the C2SP checkpoint to publish: its size is the tree exported')
    .requiredOption('--out <dir>', 'a new (or empty) directory')
    .addHelpText('after', '\nExit status: 0 written, 1 when the log\'s root differs from the checkpoint\'s, 2 for bad input.')
    .action(async (o: { db: string; checkpoint: string; out: string }) => {
      const cp = loadNoteCheckpoint(o.checkpoint);
      if (existsSync(o.out) && (!statSync(o.out).isDirectory() || readdirSync(o.out).length > 0)) throw new CliError(`${o.out} exists and is not an empty directory`);
      const db = await openLogFile(o.db);
      try {
        const log = new EntryLog(db);
        if (cp.size > log.head().seq) throw new CliError(`the checkpoint has size ${cp.size}, the log only ${log.head().seq} entries`);
        if (!log.tree.root(cp.size).equals(cp.root)) {
          process.stdout.write(`not written: the log's root at size ${cp.size} is not the checkpoint's\n`);
          process.exitCode = 1;
          return;
        }
        mkdirSync(o.out, { recursive: true });
        const put = (rel: string, data: string | Buffer): void => {
          const p = join(o.out, rel);
          mkdirSync(dirname(p), { recursive: true });
          writeOut(p, data, false, undefined, [o.db]);
        };
        put('checkpoint', cp.note);
        const tiles = tilesOf(cp.size);
        const bar = progress('tiles written', tiles.length * 2);
        let files = 1;
        for (const t of tiles) {
          const hashes: Buffer[] = [];
          for (let i = 0; i < t.width; i++) hashes.push(log.tree.node(t.level * TILE_HEIGHT, t.index * TILE_WIDTH + i));
          put(tilePath(t.level, t.index, t.width), Buffer.concat(hashes));
          files++;
          bar.tick();
          if (t.level === 0) {
            const texts = [...log.range(t.index * TILE_WIDTH, t.index * TILE_WIDTH + t.width)].map((r) => r.entry);
            put(tilePath('entries', t.index, t.width), entryBundle(texts));
            files++;
            bar.tick();
          }
        }
        bar.done();
        process.stdout.write(`${o.out}: ${cp.origin} size ${cp.size} as ${files} files (checkpoint, ${tiles.length} hash tiles, ${tiles.filter((t) => t.level === 0).length} entry bundles)\n`);
      } finally {
        db.close();
      }
    });
}
