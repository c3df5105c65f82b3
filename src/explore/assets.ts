import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where `npm run build` puts the explorer's single-page app (Vite's output), beside dist/src. */
export const UI_DIR = fileURLToPath(new URL('../../ui/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
};

/** One built file, read once. */
export interface Asset {
  body: Buffer;
  type: string;
  /** Vite's hashed files under assets/ never change: they may be cached for good. */
  immutable: boolean;
}

/**
 * The built app as a fixed table of files, read at start-up: a request can only name
 * one of them (no path from the URL ever reaches the file system).
 *
 * @throws Error when the app was not built (`npm run build`).
 * @example
 * loadAssets().get('index.html')!.type; // 'text/html; charset=utf-8'
 */
export function loadAssets(dir = UI_DIR): Map<string, Asset> {
  if (!existsSync(join(dir, 'index.html'))) throw new Error(`the explorer's app is not built: ${join(dir, 'index.html')} is missing (run npm run build)`);
  const out = new Map<string, Asset>();
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else {
        const rel = relative(dir, p).split(sep).join('/');
        out.set(rel, { body: readFileSync(p), type: TYPES[extname(p)] ?? 'application/octet-stream', immutable: rel.startsWith('assets/') });
      }
    }
  };
  walk(dir);
  return out;
}
