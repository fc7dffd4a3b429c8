// The built module in Node: pkg/, the release build optimized by wasm-opt, the bytes the npm
// package ships; then the packed package itself, installed into an app.
//
// Instantiating the optimized module is the point: Debian's binaryen 108 once produced modules
// that fail to instantiate, so a build that "succeeds" is not enough.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { test } from "node:test";
import { appWithKindred, packKindred } from "./support/packed-kindred.mjs";

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

test("Kindred runs in Node from the optimized package, in memory, and says why", async () => {
  const { Kindred } = await loadModule();
  const k = await Kindred.create({ site: "node-test" });
  const status = k.status();
  assert.equal(status.storage, "memory", "Node has no IndexedDB");
  assert.equal(status.warnings[0].code, "storage-unavailable");
  const report = await k.loadCatalog([
    { id: "mug", title: "Blue Mug", categories: ["Home > Kitchen"] },
    { id: "cup", title: "Blue Cup", categories: ["Home > Kitchen"] },
    { id: "hat", title: "Wool Hat" },
    { id: "", title: "no id" },
  ]);
  assert.equal(report.loaded, 3);
  assert.deepEqual(report.rejected, [{ index: 3, id: "", reason: "empty id" }]);
  k.track({ type: "view", item: "mug" });
  const recs = k.recommend({ strategy: "for-you", k: 2 });
  assert.equal(recs[0].item, "cup");
  assert.deepEqual(recs[0].reasons, ["similar to Blue Mug, which you viewed"]);
  assert.ok(recs.every((r) => r.item !== "mug"), "viewed item excluded");
  const explanation = k.explain("cup");
  assert.equal(explanation.activity, null, "never touched: null, not undefined");
  assert.equal(explanation.forYou.rank, 1);
});

test("exportData holds everything stored: the term vector with search terms, the day's counters, the drawn report", async () => {
  const { Kindred } = await loadModule();
  const k = await Kindred.create({ storage: "memory" });
  await k.loadCatalog([
    { id: "mug", title: "Blue Mug", categories: ["Home > Kitchen"] },
    { id: "cup", title: "Blue Cup", categories: ["Home > Kitchen"] },
  ]);
  const yesterday = Date.now() - 86_400_000;
  k.track({ type: "view", item: "mug", ts: yesterday });
  k.track({ type: "purchase", item: "cup", ts: yesterday });
  k.track({ type: "search", query: "ceramic teapot" });
  k.recommend({ strategy: "for-you", k: 2 });
  const next = k.privacy().nextReport;
  assert.ok(next, "yesterday's report is drawn");
  const data = k.exportData();
  // The profile's term vector, search-derived terms included (the query is in `events`).
  for (const term of ["blue", "mug", "cup", "ceramic", "teapot"]) {
    assert.ok(data.affinities.terms[term] > 0, `term ${term} in ${JSON.stringify(data.affinities.terms)}`);
  }
  assert.ok(data.affinities.items.cup > data.affinities.items.mug, "a purchase weighs more than a view");
  assert.ok(data.affinities.interests["category:Home > Kitchen"] > 0);
  const today = Math.floor(Date.now() / 86_400_000);
  assert.deepEqual(data.recommendationCounters, [{ day: today, strategies: { "for-you": { impressions: 1, clicks: 0 } } }]);
  assert.deepEqual(
    { day: data.pendingReport.day, json: data.pendingReport.json, epsilonAfter: data.pendingReport.epsilonAfter },
    { day: next.day, json: next.json, epsilonAfter: next.epsilonAfter },
    "the drawn report, exactly as the privacy centre shows it",
  );
  assert.deepEqual(data.pendingReport.contribution.items, ["cup", "mug"]);
  assert.equal(data.clampedEvents, 0);
  assert.deepEqual(JSON.parse(JSON.stringify(data)), data, "JSON-ready");
});

test("bad input throws a real Error with a message and changes nothing", async () => {
  const { Kindred } = await loadModule();
  const k = await Kindred.create({ storage: "memory" });
  await assert.rejects(k.loadCatalog([]), (e) => e instanceof Error && /no valid item/.test(e.message));
  await assert.rejects(k.loadCatalog({}), (e) => e instanceof Error && /must be a JSON array/.test(e.message));
  await k.loadCatalog([{ id: "a", title: "Alpha" }]);
  assert.throws(
    () => k.track({ type: "view", item: "zzz" }),
    (e) => e instanceof Error && e.message.includes('unknown item id "zzz"'),
  );
  assert.throws(
    () => k.track({ type: "teleport", item: "a" }),
    (e) => e instanceof Error && e.message.startsWith('invalid event: unknown type "teleport"'),
  );
  assert.throws(
    () => k.recommend({ strategy: "similar" }),
    (e) => e instanceof Error && e.message === 'strategy "similar" needs an "item" to start from',
  );
  assert.throws(
    () => k.recommend({ stratgy: "similar" }),
    (e) => e instanceof Error && e.message.includes("unknown field `stratgy`"),
  );
  assert.throws(() => k.on("change", () => {}), (e) => e instanceof Error && /unknown event/.test(e.message));
  await assert.rejects(
    Kindred.create({ site: "" }),
    (e) => e instanceof Error && e.message.includes('invalid option "site"'),
  );
  const recent = k.recommend({ strategy: "recently-viewed" });
  assert.deepEqual(recent, [], "the failed track stored nothing");
  assert.equal(k.status().catalogSize, 1, "the failed catalog loads kept the good one");
});

test("thrown errors are KindredErrors with a code to branch on", async () => {
  const { Kindred } = await loadModule();
  /** What `fn` threw or rejected with, as `name:code`. */
  const thrown = async (fn) => {
    try {
      await fn();
    } catch (e) {
      assert.ok(e instanceof Error, "a real Error");
      return `${e.name}:${e.code}`;
    }
    assert.fail("did not throw");
  };
  const k = await Kindred.create({ storage: "memory" });
  assert.equal(await thrown(() => k.recommend({ strategy: "for-you" })), "KindredError:no-catalog");
  assert.equal(await thrown(() => k.loadCatalog([])), "KindredError:invalid-catalog");
  await k.loadCatalog([{ id: "a", title: "Alpha" }]);
  assert.equal(await thrown(() => k.track({ type: "view", item: "zzz" })), "KindredError:unknown-item");
  assert.equal(await thrown(() => k.explain("zzz")), "KindredError:unknown-item");
  assert.equal(await thrown(() => k.track({ type: "teleport", item: "a" })), "KindredError:invalid-event");
  assert.equal(await thrown(() => k.track({ type: "dwell", item: "a" })), "KindredError:invalid-event");
  assert.equal(await thrown(() => k.recommend({ stratgy: "similar" })), "KindredError:invalid-request");
  assert.equal(await thrown(() => k.recommend({ filter: { minPrice: "1" } })), "KindredError:invalid-request");
  assert.equal(await thrown(() => k.similar("zzz")), "KindredError:unknown-item");
  assert.equal(await thrown(() => k.consent("maybe")), "KindredError:invalid-argument");
  assert.equal(await thrown(() => k.removeInterest("nokey")), "KindredError:invalid-argument");
  assert.equal(await thrown(() => k.on("change", () => {})), "KindredError:invalid-argument");
  assert.equal(await thrown(() => k.loadModel({ format: 1, version: 1 })), "KindredError:invalid-model");
  assert.equal(await thrown(() => k.loadModel("http://127.0.0.1:9/v1/model")), "KindredError:fetch-failed");
  assert.equal(await thrown(() => k.loadCatalog("http://127.0.0.1:9/catalog.json")), "KindredError:fetch-failed");
  for (const options of [{ stie: "x" }, { site: "" }, { privacy: { epsilonPerDay: 1 } }, { privacy: { delta: 2 } }]) {
    assert.equal(await thrown(() => Kindred.create(options)), "KindredError:invalid-option", JSON.stringify(options));
  }
  // A shop that tracks before its catalog has the item can tell that apart from a bug.
  const track = (event) => {
    try {
      k.track(event);
      return "tracked";
    } catch (e) {
      if (e.code === "unknown-item") return "skipped";
      throw e;
    }
  };
  assert.equal(track({ type: "view", item: "a" }), "tracked");
  assert.equal(track({ type: "view", item: "new-arrival" }), "skipped");
  assert.throws(() => track({ type: "view" }), (e) => e.code === "invalid-event");
});

test("loadModel fetches with ETag revalidation and keeps the last model when offline", async () => {
  const { Kindred } = await loadModule();
  const { createServer } = await import("node:http");
  const model = {
    format: 2, version: 3, builtEpoch: 20415, popularity: { hat: 1 }, trending: { hat: 1 },
    neighbours: {}, interests: {}, segmentAxis: [], segments: [],
  };
  const seen = [];
  const server = createServer((req, res) => {
    seen.push({ url: req.url, ifNoneMatch: req.headers["if-none-match"], cookie: req.headers.cookie });
    if (req.headers["if-none-match"] === '"v3"') {
      res.writeHead(304).end();
      return;
    }
    res.writeHead(200, { "content-type": "application/json", etag: '"v3"' }).end(JSON.stringify(model));
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${server.address().port}/v1/model`;
  const k = await Kindred.create({ storage: "memory" });
  await k.loadCatalog([{ id: "hat", title: "Wool Hat" }, { id: "cap", title: "Cotton Cap" }]);
  try {
    assert.deepEqual(await k.loadModel(url), { status: "fetched", version: 3 });
    assert.deepEqual(await k.loadModel(url), { status: "not-modified", version: 3 });
    assert.equal(seen[1].ifNoneMatch, '"v3"');
    assert.ok(seen.every((r) => r.cookie === undefined), "no credentials");
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
  const warnings = [];
  k.on("warning", (w) => warnings.push(w));
  assert.deepEqual(await k.loadModel(url), { status: "offline", version: 3 });
  assert.equal(warnings[0].code, "model-offline");
  assert.equal(k.recommend({ strategy: "trending", k: 1 })[0].item, "hat", "the cached model still answers");
  const fresh = await Kindred.create({ storage: "memory" });
  await assert.rejects(fresh.loadModel(url), (e) => e instanceof Error && e.message.includes(url));
});

// The packed package (tests/support/packed-kindred.mjs), as `npm install kindred` gives it.
test("the tarball holds what package.json's exports and files name, and no build leftovers", () => {
  const { tarball, files } = packKindred();
  rmSync(dirname(tarball), { recursive: true, force: true });
  const { exports } = JSON.parse(readFileSync(`${root}package.json`, "utf8"));
  const targets = (entry) => (typeof entry === "string" ? [entry] : Object.values(entry).flatMap(targets));
  for (const target of targets(exports)) {
    assert.ok(files.includes(target.replace(/^\.\//, "")), `${target} is exported but not in the tarball: ${files}`);
  }
  assert.ok(files.includes("dist/kindred.js"), "the storefront script tag ships too");
  assert.ok(!files.some((f) => f.startsWith("pkg-noopt/") || f.endsWith("DEV-BUILD")), `${files}`);
});

test("in Node, a plain `import init from \"kindred\"` and `init()` work, no shim", () => {
  const app = appWithKindred("node-import");
  try {
    // A fresh Node process, so nothing of this test runner (loaders, the repository's
    // package.json) is involved: only the installed package's exports.
    writeFileSync(
      join(app, "main.js"),
      `import init, { Kindred, version } from "kindred";
await init();
const k = await Kindred.create({ site: "node-app" });
await k.loadCatalog([
  { id: "mug", title: "Blue Mug", categories: ["Home > Kitchen"] },
  { id: "cup", title: "Blue Cup", categories: ["Home > Kitchen"] },
  { id: "hat", title: "Wool Hat" },
]);
k.track({ type: "view", item: "mug" });
await init(); // a second call returns the loaded module
console.log(JSON.stringify({ version: version(), storage: k.status().storage, recs: k.recommend({ strategy: "for-you", k: 1 }) }));
`,
    );
    const run = spawnSync(process.execPath, ["main.js"], { cwd: app, encoding: "utf8" });
    assert.equal(run.status, 0, run.stderr);
    const out = JSON.parse(run.stdout);
    const { version } = JSON.parse(readFileSync(`${root}package.json`, "utf8"));
    assert.equal(out.version, version);
    assert.equal(out.storage, "memory");
    assert.equal(out.recs[0].item, "cup");
  } finally {
    rmSync(app, { recursive: true, force: true });
  }
});
