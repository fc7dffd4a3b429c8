// The in-browser benchmark: the release, wasm-opt'd module (pkg/) on synthetic catalogs of 1k,
// 10k and 100k items. Each operation is sampled many times; a sample times a batch of calls when one
// call is shorter than the timer can see. Results go to `window.benchResults` for
// scripts/bench.mjs and to the page.
import init, { Kindred } from "/pkg/kindred.js";

const SIZES = (new URLSearchParams(location.search).get("sizes") ?? "1000,10000,100000").split(",").map(Number);
const log = (line) => (document.getElementById("log").textContent += `\n${line}`);

/** Deterministic synthetic catalog (a seeded PRNG is fine here: this is not privacy noise). */
function catalog(n, seed = 7) {
  let state = seed >>> 0;
  const rand = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const pick = (list) => list[Math.floor(rand() * list.length)];
  const departments = {
    Home: [["Kitchen", "Bath", "Living Room", "Garden"], ["mug", "kettle", "towel", "lamp", "cushion", "planter", "bowl", "vase"]],
    Fashion: [["Shoes", "Coats", "Bags", "Hats"], ["boot", "sneaker", "parka", "tote", "beanie", "scarf", "jacket", "loafer"]],
    Toys: [["Building", "Puzzles", "Outdoor", "Dolls"], ["castle", "puzzle", "kite", "blocks", "doll", "train", "ball", "robot"]],
    Sports: [["Running", "Cycling", "Yoga", "Camping"], ["shorts", "helmet", "mat", "tent", "bottle", "glove", "jersey", "stove"]],
    Books: [["Fiction", "Cooking", "Travel", "Science"], ["novel", "cookbook", "guide", "atlas", "memoir", "primer", "anthology", "journal"]],
    Electronics: [["Audio", "Cameras", "Phones", "Computers"], ["speaker", "headphones", "camera", "charger", "keyboard", "monitor", "cable", "tablet"]],
  };
  const adjectives = ["blue", "red", "vintage", "organic", "compact", "deluxe", "wooden", "steel", "linen", "classic", "modern", "soft"];
  const brands = Array.from({ length: 40 }, (_, i) => `Brand${i}`);
  const names = Object.keys(departments);
  return Array.from({ length: n }, (_, i) => {
    const dept = pick(names);
    const [subs, nouns] = departments[dept];
    const noun = pick(nouns);
    const title = `${pick(adjectives)} ${pick(adjectives)} ${noun} ${i % 97}`;
    return {
      id: `sku-${i}`,
      title,
      description: `A ${pick(adjectives)} ${noun} for every day, ${pick(adjectives)} and ${pick(adjectives)}.`,
      categories: [`${dept} > ${pick(subs)}`],
      brand: pick(brands),
      price: Math.round(rand() * 20000) / 100 + 1,
      available: rand() > 0.1,
      tags: [pick(adjectives)],
    };
  });
}

function stats(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { median: at(0.5), p95: at(0.95), samples: samples.length };
}

/** Times `fn` `samples` times, each sample a batch of `batch` calls; returns ms per call. */
async function measure(fn, { samples, batch = 1, warmup = 3 }) {
  for (let i = 0; i < warmup; i++) await fn(i);
  const out = [];
  for (let s = 0; s < samples; s++) {
    const start = performance.now();
    for (let b = 0; b < batch; b++) await fn(s * batch + b);
    out.push((performance.now() - start) / batch);
  }
  return stats(out);
}

async function run() {
  await init();
  const results = [];
  const record = (op, size, s) => {
    results.push({ op, size, ...s });
    log(`${op.padEnd(24)} ${String(size).padStart(7)}  median ${fmt(s.median)}  p95 ${fmt(s.p95)}`);
  };
  for (const size of SIZES) {
    const items = catalog(size);
    const loadSamples = size >= 100_000 ? 3 : size >= 10_000 ? 7 : 20;
    const k = await Kindred.create({ storage: "memory" });
    record("loadCatalog", size, await measure(() => k.loadCatalog(items), { samples: loadSamples, warmup: 1 }));
    let n = 0;
    const nextItem = () => items[(n++ * 7919) % size].id;
    // A shopper with some history, so for-you has something to personalise.
    for (let i = 0; i < 60; i++) k.track({ type: i % 10 === 0 ? "purchase" : "view", item: nextItem() });
    record("track (memory)", size, await measure(() => k.track({ type: "view", item: nextItem() }), { samples: 200, batch: 20 }));
    const recBatch = size >= 10_000 ? 1 : 10;
    record("recommend for-you k=10", size, await measure(() => k.recommend({ strategy: "for-you", k: 10 }), { samples: 60, batch: recBatch }));
    record("similar k=10", size, await measure(() => k.similar(nextItem(), 10), { samples: 60, batch: recBatch }));
    if (size === SIZES[0]) {
      // The cost a shop pays per event with IndexedDB on (saving is batched, off this path).
      const stored = await Kindred.create({ site: `bench-${Date.now()}`, flushDelayMs: 1000 });
      await stored.loadCatalog(items);
      record("track (indexeddb)", size, await measure(() => stored.track({ type: "view", item: nextItem() }), { samples: 200, batch: 20 }));
      await stored.forget();
      await stored.close();
    }
  }
  const table = document.getElementById("results");
  table.innerHTML = "<tr><th>operation</th><th>items</th><th>median</th><th>p95</th></tr>" +
    results.map((r) => `<tr><td>${r.op}</td><td>${r.size}</td><td>${fmt(r.median)}</td><td>${fmt(r.p95)}</td></tr>`).join("");
  window.benchResults = { crossOriginIsolated, userAgent: navigator.userAgent, results };
}

const fmt = (ms) => (ms < 1 ? `${(ms * 1000).toFixed(1)} µs` : `${ms.toFixed(2)} ms`);

run().catch((e) => {
  log(`failed: ${e.message}`);
  window.benchResults = { error: String(e.stack ?? e) };
});
