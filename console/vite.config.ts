import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// Served by the Hearth server under /console/; `npm run dev -w console` proxies the API to a local server.
export default defineConfig({
  base: '/console/',
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 2000 },
  server: {
    proxy: Object.fromEntries(
      ['/api', '/auth', '/oauth', '/openapi.json'].map((p) => [p, 'http://localhost:8080']),
    ),
  },
});
