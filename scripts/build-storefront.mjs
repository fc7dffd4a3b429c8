// Builds the storefront script tag (www/loader/ + the wasm-bindgen glue from pkg/) into one
// minified classic script, dist/kindred.js, next to dist/kindred_bg.wasm (the same bytes as
// pkg/kindred_bg.wasm), and copies both into www/ where `kindred serve` serves the demo.
// Fails when dist/kindred.js gzips above 10 KB (PRODUCT.md's loader budget).
//
// usage: node scripts/build-storefront.mjs [--dev]   (scripts/build-wasm runs it after building
// pkg/; `--dev`, for the debug build of `scripts/build-wasm --dev`, whose glue carries debug
// checks: no budget)
import { copyFileSync, mkdirSync, readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";

const LOADER_GZIP_BUDGET = 10 * 1024; // bytes
const dev = process.argv.includes("--dev");

const root = new URL("..", import.meta.url).pathname;
mkdirSync(`${root}dist`, { recursive: true });

await build({
  entryPoints: [`${root}www/loader/storefront.js`],
  outfile: `${root}dist/kindred.js`,
  bundle: true,
  minify: true,
  format: "iife",
  target: "es2022",
  legalComments: "none",
  // The glue's default wasm URL uses import.meta.url, which a classic script lacks; the loader
  // always passes the URL (data-wasm, or kindred_bg.wasm next to the script).
  logOverride: { "empty-import-meta": "silent" },
  banner: { js: "/* kindred storefront script (MIT OR Apache-2.0); see README.md, \"The script tag\" */" },
  logLevel: "warning",
});
copyFileSync(`${root}pkg/kindred_bg.wasm`, `${root}dist/kindred_bg.wasm`);
for (const file of ["kindred.js", "kindred_bg.wasm"]) {
  copyFileSync(`${root}dist/${file}`, `${root}www/${file}`);
}

const bytes = readFileSync(`${root}dist/kindred.js`);
const gzip = gzipSync(bytes, { level: 9 }).length;
console.log(
  `dist/kindred.js (storefront script)  ${(bytes.length / 1024).toFixed(1)} KB raw  ${(gzip / 1024).toFixed(1)} KB gzip`,
);
if (dev) {
  console.log("(a debug build: the budget applies to the shipped one)");
} else if (gzip > LOADER_GZIP_BUDGET) {
  console.error(`error: dist/kindred.js is ${gzip} bytes gzipped, over the budget of ${LOADER_GZIP_BUDGET} bytes (10 KB)`);
  process.exit(1);
} else {
  console.log(`ok: dist/kindred.js gzip ${gzip} bytes <= budget ${LOADER_GZIP_BUDGET} bytes`);
}
