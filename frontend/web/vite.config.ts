/// <reference types="vitest/config" />
import { fileURLToPath } from "node:url";
import tailwindcss from "@tailwindcss/vite";
import react from "@vitejs/plugin-react";
import { defineConfig, type Plugin } from "vite";
import { themeCss } from "../design_system/tokens.ts";

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/** Tailwind's theme comes from design_system/tokens.json: the CSS marker is replaced by its @theme block. */
function designTokens(): Plugin {
  return {
    name: "tripcast-design-tokens",
    enforce: "pre",
    transform(code, id) {
      if (id.endsWith(".css") && code.includes("/* @design-tokens */")) {
        return code.replace("/* @design-tokens */", themeCss());
      }
      return null;
    },
  };
}

// The API a dev server forwards to (`tripcast serve` default port).
const api = process.env.TRIPCAST_API ?? "http://127.0.0.1:8000";

export default defineConfig({
  root: here("."),
  base: "/ui/",
  plugins: [designTokens(), tailwindcss(), react()],
  resolve: { alias: { "@ds": here("../design_system"), "@api": here("../shared/types") } },
  server: { proxy: { "/v1": api, "/health": api } },
  build: { outDir: here("dist"), emptyOutDir: true, chunkSizeWarningLimit: 800 },
  test: {
    environment: "jsdom",
    globals: true,
    root: here(".."),
    include: ["web/src/**/*.test.{ts,tsx}", "design_system/**/*.test.{ts,tsx}"],
    setupFiles: [here("src/test/setup.ts")],
    css: false,
  },
});
