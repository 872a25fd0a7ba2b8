/// <reference types="vitest/config" />
import { defineConfig, type Plugin } from "vite";
import { svelte } from "@sveltejs/vite-plugin-svelte";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/**
 * pdf.js's standard fonts, character maps and image decoders (JBIG2 and
 * JPEG 2000 scans), bundled under /pdfjs/ so PDFs render offline and nothing
 * is fetched from a CDN.
 */
function pdfjsAssets(): Plugin {
  const root = join(import.meta.dirname, "node_modules/pdfjs-dist");
  return {
    name: "claimdesk-pdfjs-assets",
    generateBundle() {
      for (const dir of ["standard_fonts", "cmaps", "wasm"]) {
        for (const name of readdirSync(join(root, dir))) {
          this.emitFile({ type: "asset", fileName: `pdfjs/${dir}/${name}`, source: readFileSync(join(root, dir, name)) });
        }
      }
    },
  };
}

// Tauri serves ui/dist from its own protocol; no CDN, no remote assets.
export default defineConfig({
  plugins: [svelte(), pdfjsAssets()],
  clearScreen: false,
  server: { port: 5173, strictPort: true },
  build: { target: "es2022", sourcemap: false },
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.ts"],
  },
});
