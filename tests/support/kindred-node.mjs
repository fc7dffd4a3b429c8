// The built package for Node tests: `init()` loads the optimized wasm from disk (Node's fetch
// cannot read file: URLs, which is what the browser build's default `init()` would do).
import { readFileSync } from "node:fs";
import { initSync } from "../../pkg/kindred.js";

export * from "../../pkg/kindred.js";

export default async function init() {
  initSync({ module: readFileSync(new URL("../../pkg/kindred_bg.wasm", import.meta.url)) });
}
