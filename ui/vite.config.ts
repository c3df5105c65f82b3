import { defineConfig } from 'vite';
import { fileURLToPath } from 'node:url';

// The explorer's single-page app: bundled into dist/ui, served by `pasid-ledger explore`
// (and under /ui/ by `serve`): relative asset paths, no CDN, nothing fetched from outside.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: fileURLToPath(new URL('../dist/ui', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    chunkSizeWarningLimit: 400,
  },
  logLevel: 'warn',
});
