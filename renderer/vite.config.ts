// The renderer's build. base './' so the same files load from `baton ui`'s HTTP server, from
// file:// and from Electron's custom protocol. Nothing inline, nothing remote: the page runs under
// a strict CSP (script-src 'self'; style-src 'self').
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('.', import.meta.url));

// `--mode bench` builds the benchmark page (bench.html: the app on the in-memory client) apart from
// the product, so no bench code ships.
export default defineConfig(({ mode }) => ({
  root,
  base: './',
  plugins: [react()],
  build: {
    outDir: mode === 'bench' ? '../.cache/renderer-bench' : 'dist',
    emptyOutDir: true,
    // No inlined assets: data: URLs would need a laxer CSP.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    target: 'es2022',
    rollupOptions: {
      input: fileURLToPath(new URL(mode === 'bench' ? 'bench.html' : 'index.html', import.meta.url)),
    },
  },
}));
