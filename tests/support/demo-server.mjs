// The demo shop's server for the end-to-end tests and `npm run bench`: the real `kindred serve`
// on 127.0.0.1 serving www/ with the storefront script (built by scripts/build-wasm), the
// generated demo catalog and a database seeded with simulated shoppers (`kindred demo-seed`).
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { buildKindred, startKindred } from "./kindred-server.mjs";

const root = fileURLToPath(new URL("../..", import.meta.url));
export const ADMIN_TOKEN = "e2e-admin-token-0123456789abcdef";
// Windows take reports until 30 days after they end (the longest delay the server allows), so
// the window before the current one is always open: the network test shops across the
// boundary between the two, on real days, against the server's real clock.
const RELEASE_DELAY = ["--release-delay-days", "30"];

function run(binary, args) {
  const result = spawnSync(binary, args, { cwd: root, encoding: "utf8" });
  if (result.status !== 0) throw new Error(`kindred ${args[0]} failed:\n${result.stderr}`);
  return result.stderr.trim();
}

/** Writes www/catalog.json (deterministic, so rewriting it is harmless) and a seeded database. */
export function prepare(name) {
  for (const file of ["www/kindred.js", "www/kindred_bg.wasm"]) {
    if (!existsSync(`${root}${file}`)) throw new Error(`${file} missing: run \`npm run build\` first`);
  }
  const binary = buildKindred();
  run(binary, ["demo-catalog", "--out", `${root}www/catalog.json`]);
  const dir = `${root}target/tmp/seed-${name}`;
  mkdirSync(dir, { recursive: true });
  const database = `${dir}/seeded.db`;
  spawnSync("rm", ["-f", database, `${database}-wal`, `${database}-shm`]);
  // Simulated days end with the newest window the release delay lets the server release
  // (two windows back), so the windows the tests shop in still take reports; 90 days give
  // "trending" its baseline.
  run(binary, ["demo-seed", "--catalog", `${root}www/catalog.json`, "--database", database, "--shoppers", "200",
    "--days", "90", ...RELEASE_DELAY]);
  return database;
}

/** `kindred serve` on 127.0.0.1 serving www/ over a freshly seeded database: `{ url, stop }`. */
export function startDemoShop(name) {
  const database = prepare(name);
  return startKindred(name, ["--static-dir", `${root}www`, "--database", database, ...RELEASE_DELAY], {
    KINDRED_ADMIN_TOKEN: ADMIN_TOKEN,
  });
}

