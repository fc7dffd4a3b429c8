// Prints raw, gzip and brotli sizes of the built browser module and fails (exit 1) when the
// gzipped `_bg.wasm` exceeds the budget from PRODUCT.md.
//
// usage: node scripts/wasm-size.mjs [pkg-dir] [unoptimized-pkg-dir]
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { constants, brotliCompressSync, gzipSync } from "node:zlib";

const WASM_GZIP_BUDGET = 120 * 1024; // bytes

const [pkgDir = "pkg", unoptDir] = process.argv.slice(2);

const rows = [
  ["kindred_bg.wasm", join(pkgDir, "kindred_bg.wasm")],
  ["kindred.js (glue)", join(pkgDir, "kindred.js")],
];
if (unoptDir) {
  rows.push(["kindred_bg.wasm before wasm-opt", join(unoptDir, "kindred_bg.wasm")]);
}

function sizes(path) {
  const bytes = readFileSync(path);
  return {
    raw: bytes.length,
    gzip: gzipSync(bytes, { level: 9 }).length,
    brotli: brotliCompressSync(bytes, {
      params: { [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY },
    }).length,
  };
}

const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
const measured = [];
for (const [label, path] of rows) {
  if (!existsSync(path)) {
    console.error(`error: ${path} not found: run \`npm run build\` first`);
    process.exit(1);
  }
  measured.push([label, sizes(path)]);
}

const width = Math.max(...measured.map(([label]) => label.length));
const cell = (s) => s.padStart(10);
console.log(`${"file".padEnd(width)}  ${cell("raw")}  ${cell("gzip")}  ${cell("brotli")}`);
for (const [label, s] of measured) {
  console.log(`${label.padEnd(width)}  ${cell(kb(s.raw))}  ${cell(kb(s.gzip))}  ${cell(kb(s.brotli))}`);
}

const wasmGzip = measured[0][1].gzip;
if (wasmGzip > WASM_GZIP_BUDGET) {
  console.error(
    `error: ${pkgDir}/kindred_bg.wasm is ${wasmGzip} bytes gzipped, over the budget of ${WASM_GZIP_BUDGET} bytes (120 KB)`,
  );
  process.exit(1);
}
console.log(`ok: ${pkgDir}/kindred_bg.wasm gzip ${wasmGzip} bytes <= budget ${WASM_GZIP_BUDGET} bytes`);
