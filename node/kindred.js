// The package in Node (the "node" condition of package.json's exports): the browser build in
// pkg/, whose default `init()` fetches kindred_bg.wasm from `new URL(..., import.meta.url)`,
// a file: URL that Node's fetch refuses. Here `init()` reads that file instead; everything
// else is the same module, so `import init, { Kindred } from "kindred"` works unchanged.
import { readFile } from "node:fs/promises";
import initFromUrl from "../pkg/kindred.js";

export * from "../pkg/kindred.js";

/**
 * Loads the WebAssembly module (once; later calls return the same instance). Without an
 * argument it reads the package's kindred_bg.wasm; an argument (bytes, a `WebAssembly.Module`,
 * a URL to fetch) goes to the browser build's `init()` as it is.
 */
export default async function init(moduleOrPath) {
  if (moduleOrPath !== undefined) return initFromUrl(moduleOrPath);
  const bytes = await readFile(new URL("../pkg/kindred_bg.wasm", import.meta.url));
  return initFromUrl({ module_or_path: bytes });
}
