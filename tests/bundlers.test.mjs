// The npm package in bundlers: the packed tarball installed into a small shop app, built with
// esbuild and with Vite, and each build run in Chromium until a recommendation shows up.
// What it guards: the package's exports resolve for a browser build, the wasm file reaches
// the output, and the built page loads and instantiates it.
//
// Vite understands `new URL("kindred_bg.wasm", import.meta.url)` (the glue's default in
// `init()`) and emits the wasm as an asset, so the app calls `init()` as the README does.
// esbuild leaves that URL alone (evanw/esbuild#795), so there the app imports the wasm's URL
// through esbuild's file loader ("kindred/kindred_bg.wasm" is exported for that) and passes
// it to `init()`.
import assert from "node:assert/strict";
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { after, before, test } from "node:test";
import { build as esbuild } from "esbuild";
import { build as vite } from "vite";
import { launchChromium } from "./support/chromium.mjs";
import { appWithKindred, packKindred } from "./support/packed-kindred.mjs";
import { serveRepository } from "./support/static-server.mjs";

/** The shop app's code after `init`: a catalog, one view, the for-you rail in `#recs`. */
const SHOP = `
const k = await Kindred.create({ site: "bundled-shop" });
await k.loadCatalog([
  { id: "mug", title: "Blue Ceramic Mug", categories: ["Home > Kitchen"], price: 12 },
  { id: "cup", title: "Blue Espresso Cup", categories: ["Home > Kitchen"], price: 9 },
  { id: "hat", title: "Wool Hat", categories: ["Clothing > Hats"], price: 20 },
]);
k.track({ type: "view", item: "mug" });
const list = document.querySelector("#recs");
for (const { item, reasons } of k.recommend({ strategy: "for-you", k: 2 })) {
  const li = document.createElement("li");
  li.dataset.item = item;
  li.textContent = reasons[0];
  list.append(li);
}
`;

const html = (script) => `<!doctype html>
<meta charset="utf-8">
<title>bundled shop</title>
<link rel="icon" href="data:,">
<ul id="recs"></ul>
<script type="module" src="${script}"></script>
`;

const ctx = { tarball: undefined, browser: undefined, dirs: [] };

before(async () => {
  ctx.tarball = packKindred().tarball;
  ctx.dirs.push(dirname(ctx.tarball));
  ctx.browser = await launchChromium();
});

after(async () => {
  await ctx.browser?.close();
  for (const dir of ctx.dirs) rmSync(dir, { recursive: true, force: true });
});

/** A new app with the tarball installed and `files` ({ path: text }) written into it. */
function app(name, files) {
  const dir = appWithKindred(name, ctx.tarball);
  ctx.dirs.push(dir);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, ".."), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

/** Serves `dist` and opens its index.html in Chromium; resolves with the rail's items. */
async function railOf(dist) {
  const server = await serveRepository({ root: dist });
  const page = await ctx.browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  try {
    await page.goto(`${server.url}/index.html`);
    await page.waitForSelector("#recs li", { timeout: 15_000 }).catch((e) => {
      throw new Error(`no recommendation appeared: ${errors.join("; ") || e.message}`);
    });
    assert.deepEqual(errors, []);
    return await page.$$eval("#recs li", (items) => items.map((li) => [li.dataset.item, li.textContent]));
  } finally {
    await page.close();
    await server.close();
  }
}

const EXPECTED_FIRST = ["cup", "similar to Blue Ceramic Mug, which you viewed"];

test("esbuild: a browser bundle of the app shows recommendations", async () => {
  const dir = app("esbuild", {
    "src/main.js": `import init, { Kindred } from "kindred";
import wasmUrl from "kindred/kindred_bg.wasm";
await init({ module_or_path: wasmUrl });
${SHOP}`,
  });
  const dist = join(dir, "dist");
  await esbuild({
    absWorkingDir: dir,
    entryPoints: ["src/main.js"],
    outdir: "dist",
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    loader: { ".wasm": "file" },
    logLevel: "warning",
  });
  writeFileSync(join(dist, "index.html"), html("./main.js"));
  assert.ok(readdirSync(dist).some((f) => f.endsWith(".wasm")), `no wasm in ${readdirSync(dist)}`);
  const rail = await railOf(dist);
  assert.deepEqual(rail[0], EXPECTED_FIRST);
});

test("Vite: a production build of the app shows recommendations", async () => {
  const dir = app("vite", {
    "index.html": html("/src/main.js"),
    "src/main.js": `import init, { Kindred } from "kindred";
await init();
${SHOP}`,
  });
  await vite({ root: dir, configFile: false, logLevel: "warn", build: { outDir: "dist", target: "es2022" } });
  const assets = readdirSync(join(dir, "dist/assets"));
  assert.ok(assets.some((f) => f.endsWith(".wasm")), `Vite emitted no wasm: ${assets}`);
  const rail = await railOf(join(dir, "dist"));
  assert.deepEqual(rail[0], EXPECTED_FIRST);
});
