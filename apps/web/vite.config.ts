import tailwindcss from '@tailwindcss/vite';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  plugins: [react(), tailwindcss()],
  build: {
    target: 'es2022',
    // The server reads dist/.vite/manifest.json to know the entry chunk; the perf test reads it to weigh the main bundle.
    manifest: true,
    chunkSizeWarningLimit: 800,
  },
  server: {
    // `pnpm dev` talks to a console server started separately (`meshcraft serve`).
    proxy: { '/trpc': { target: 'http://127.0.0.1:7300', ws: true } },
  },
  test: {
    environment: 'happy-dom',
    setupFiles: ['src/test/setup.ts'],
    css: false,
  },
});
