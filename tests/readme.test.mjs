// Runs every ```js example of the README's "Using the npm package" section in Node, against
// the packed package installed into an app (tests/support/packed-kindred.mjs): each example
// imports "kindred" as written, so the documentation cannot drift from the API or from how
// the package resolves in Node.
import assert from "node:assert/strict";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import { appWithKindred } from "./support/packed-kindred.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const readme = readFileSync(join(root, "README.md"), "utf8");
const section = readme.split("## Using the npm package")[1]?.split("\n## ")[0] ?? "";
const examples = [...section.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]);

let app;
before(() => {
  app = appWithKindred("readme");
});
after(() => app && rmSync(app, { recursive: true, force: true }));

// What each example logs, as its comments show it.
const expected = [
  (logged) => assert.deepEqual(logged[0], ["cup", ["similar to Blue Ceramic Mug, which you viewed"]]),
  (logged) => assert.deepEqual(logged[0], [1], "the puzzle is first in the shopper's for-you list"),
  (logged) => {
    assert.ok(logged.some((l) => l[0] === "storage-unavailable"), "Node reports the memory fallback");
    assert.ok(logged.some((l) => l[0] === "memory"));
  },
  (logged) => assert.deepEqual(logged[0], ["consent-pending"]),
];

test("the README has npm examples, each with what it logs checked", () => {
  assert.ok(examples.length >= 3, `found ${examples.length} js examples in the npm section`);
  assert.equal(examples.length, expected.length, "a new example needs its expected output in `expected`");
});

/** Runs one example as a module of the app and returns what it logged. */
async function run(code, index) {
  const file = join(app, `example-${index}.mjs`);
  writeFileSync(file, code);
  const logged = [];
  const { log, warn } = console;
  console.log = (...args) => logged.push(args);
  console.warn = (...args) => logged.push(args);
  try {
    await import(pathToFileURL(file).href);
  } finally {
    console.log = log;
    console.warn = warn;
  }
  return logged;
}

examples.forEach((code, index) => {
  test(`README npm example ${index + 1} runs`, async () => {
    const logged = await run(code, index);
    expected[index](logged);
  });
});
