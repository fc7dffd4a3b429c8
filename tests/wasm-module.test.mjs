// Loads the release, wasm-opt'd browser module that `npm run build` writes to pkg/ and calls it.
//
// Instantiating the optimized module is the point: Debian's binaryen 108 once produced modules
// that fail to instantiate, so a build that "succeeds" is not enough.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { test } from "node:test";

const root = fileURLToPath(new URL("..", import.meta.url));
const pkg = (file) => `${root}pkg/${file}`;
const unoptimized = `${root}pkg-noopt/kindred_bg.wasm`;

function requireBuilt(path) {
  assert.ok(
    existsSync(path),
    `${path} is missing: run \`npm run build\` (scripts/build-wasm) before the module tests`,
  );
}

async function loadModule(dir = "pkg") {
  const file = (name) => `${root}${dir}/${name}`;
  requireBuilt(file("kindred.js"));
  requireBuilt(file("kindred_bg.wasm"));
  const kindred = await import(pathToFileURL(file("kindred.js")).href);
  kindred.initSync({ module: readFileSync(file("kindred_bg.wasm")) });
  return kindred;
}

/** The `engine-preview` build: the whole engine in wasm, optimized like the shipped module. */
const loadPreview = () => loadModule("pkg-preview");

test("the built wasm was optimized by wasm-opt", () => {
  requireBuilt(pkg("kindred_bg.wasm"));
  requireBuilt(unoptimized);
  const optimized = readFileSync(pkg("kindred_bg.wasm")).length;
  const plain = readFileSync(unoptimized).length;
  assert.ok(
    optimized < plain,
    `pkg/kindred_bg.wasm (${optimized} bytes) is not smaller than the build without wasm-opt ` +
      `(${plain} bytes): wasm-pack skipped wasm-opt; is node_modules/.bin/wasm-opt there (npm ci)?`,
  );
});

test("the optimized module instantiates and reports the package version", async () => {
  const kindred = await loadModule();
  const { version } = JSON.parse(readFileSync(`${root}package.json`, "utf8"));
  assert.equal(kindred.version(), version);
});

test("tokenize runs the core tokenizer inside wasm", async () => {
  const kindred = await loadModule();
  const tokens = kindred.tokenize("Blue Mug 北京大学");
  assert.ok(Array.isArray(tokens), `tokenize returned ${typeof tokens}, not an array`);
  assert.deepEqual(tokens.slice(0, 2), ["blue", "mug"]);
  // How CJK text is split is the tokenizer's business (core's tests pin it); here it must
  // come back as non-empty pieces of the input, none of them lost to an encoding bug.
  const cjk = tokens.slice(2);
  assert.ok(cjk.length > 0, `no token for the CJK text: ${JSON.stringify(tokens)}`);
  for (const token of cjk) {
    assert.ok("北京大学".includes(token), `unexpected token ${JSON.stringify(token)}`);
  }
  assert.deepEqual(kindred.tokenize(""), []);
});

test("the engine runs inside the optimized preview module: load, track, recommend", async () => {
  const { Engine } = await loadPreview();
  const engine = new Engine();
  const report = engine.loadCatalog([
    { id: "mug", title: "Blue Mug", categories: ["Home > Kitchen"] },
    { id: "cup", title: "Blue Cup", categories: ["Home > Kitchen"] },
    { id: "hat", title: "Wool Hat" },
    { id: "", title: "no id" },
  ]);
  assert.equal(report.loaded, 3);
  assert.deepEqual(report.rejected, [{ index: 3, id: "", reason: "empty id" }]);
  const now = Date.UTC(2026, 10, 23);
  engine.track({ type: "view", item: "mug" }, now);
  const recs = engine.recommend({ strategy: "for-you", k: 2 }, now);
  assert.equal(recs[0].item, "cup");
  assert.deepEqual(recs[0].reasons, ["similar to Blue Mug, which you viewed"]);
  assert.ok(recs.every((r) => r.item !== "mug"), "viewed item excluded");
});

test("bad input throws a real Error with a message and changes nothing", async () => {
  const { Engine } = await loadPreview();
  const engine = new Engine();
  assert.throws(() => engine.loadCatalog([]), (e) => e instanceof Error && /no valid item/.test(e.message));
  assert.throws(() => engine.loadCatalog({}), (e) => e instanceof Error && /must be a JSON array/.test(e.message));
  engine.loadCatalog([{ id: "a", title: "Alpha" }]);
  assert.throws(
    () => engine.track({ type: "view", item: "zzz" }, 0),
    (e) => e instanceof Error && e.message.includes('unknown item id "zzz"'),
  );
  assert.throws(
    () => engine.track({ type: "teleport", item: "a" }, 0),
    (e) => e instanceof Error && e.message.startsWith("invalid event"),
  );
  assert.throws(
    () => engine.recommend({ strategy: "similar" }, 0),
    (e) => e instanceof Error && e.message === 'strategy "similar" needs an "item" to start from',
  );
  const recent = engine.recommend({ strategy: "recently-viewed" }, 0);
  assert.deepEqual(recent, [], "the failed track stored nothing");
});
