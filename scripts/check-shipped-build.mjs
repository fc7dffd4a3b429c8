// `npm pack` and `npm publish` run this first (the "prepack" script): the package must hold
// the shipped build, never the debug one of `scripts/build-wasm --dev` (pkg/DEV-BUILD marks
// it), and every file package.json's exports names must be there.
import { existsSync, readFileSync } from "node:fs";

const root = new URL("..", import.meta.url);
const fail = (message) => {
  console.error(`error: ${message}`);
  process.exit(1);
};

if (existsSync(new URL("pkg/DEV-BUILD", root))) {
  fail("pkg/ holds the debug build of `scripts/build-wasm --dev`: run scripts/build-wasm, then pack again");
}
const { exports } = JSON.parse(readFileSync(new URL("package.json", root), "utf8"));
const targets = (entry) => (typeof entry === "string" ? [entry] : Object.values(entry).flatMap(targets));
for (const file of new Set(targets(exports))) {
  if (!existsSync(new URL(file, root))) fail(`${file} (named in package.json's exports) is missing: run scripts/build-wasm`);
}
