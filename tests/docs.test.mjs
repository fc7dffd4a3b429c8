// The documentation against the code it describes: the README's length, every relative link,
// and the lists the docs promise to be complete (server settings, routes, error codes, metrics,
// script-tag attributes, the Content-Security-Policy, the package's options and their
// defaults) read from the source, so a setting added or renamed fails here until the docs say
// so. Needs no build.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const read = (path) => readFileSync(join(root, path), "utf8");
/** Source text without its `#[cfg(test)]` module: strings in tests are not behaviour. */
const rust = (path) => read(path).split("#[cfg(test)]")[0];
const docFiles = [
  "README.md",
  "www/README.md",
  ...readdirSync(join(root, "docs"))
    .filter((f) => f.endsWith(".md"))
    .map((f) => `docs/${f}`),
];

/** The Markdown outside fenced code blocks (links and tables in examples are not the doc's). */
const prose = (text) => text.replace(/^```[\s\S]*?^```/gm, "");

/** GitHub's anchor of a heading: lowercase, punctuation dropped, spaces to hyphens. */
const slug = (heading) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, "")
    .replace(/ /g, "-");

function anchors(path) {
  const seen = new Map();
  const out = new Set();
  for (const [, heading] of prose(read(path)).matchAll(/^#{1,6} (.+)$/gm)) {
    const base = slug(heading);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** The rows of the Markdown table whose header's first cell is `first`, as arrays of cells. */
function table(text, first) {
  const lines = prose(text).split("\n");
  const start = lines.findIndex((l) => l.startsWith("|") && cells(l)[0] === first);
  assert.ok(start >= 0, `no table headed "${first}"`);
  const rows = [];
  for (let i = start + 2; i < lines.length && lines[i].startsWith("|"); i++) rows.push(cells(lines[i]));
  return rows;
}

function cells(line) {
  return line
    .replace(/\\\|/g, "\u0000")
    .split("|")
    .slice(1, -1)
    .map((c) => c.replace(/\u0000/g, "|").trim());
}

const unquote = (s) => s.replace(/[`"]/g, "").trim();

test("the README is at most 200 lines", () => {
  const lines = read("README.md").split("\n").length - 1;
  assert.ok(lines <= 200, `README.md has ${lines} lines; move detail into docs/`);
});

test("every relative link in the README and docs points to a file (and heading) that exists", () => {
  const broken = [];
  for (const file of docFiles) {
    for (const [, target] of prose(read(file)).matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:
      const [path, anchor] = target.split("#");
      const resolved = path ? join(dirname(join(root, file)), decodeURIComponent(path)) : join(root, file);
      const name = relative(root, resolved);
      if (!existsSync(resolved)) {
        broken.push(`${file}: ${target} (no file ${name})`);
      } else if (anchor && statSync(resolved).isFile() && name.endsWith(".md") && !anchors(name).has(anchor)) {
        broken.push(`${file}: ${target} (no heading #${anchor} in ${name})`);
      }
    }
  }
  assert.deepEqual(broken, []);
});

test("Rust examples live only in files that a crate compiles as doctests", () => {
  const included = [...rust("crates/core/src/lib.rs").matchAll(/include_str!\("\.\.\/\.\.\/\.\.\/([^"]+)"\)/g)].map(
    (m) => m[1],
  );
  for (const file of docFiles) {
    if (/^```rust$/m.test(read(file))) {
      assert.ok(included.includes(file), `${file} has a rust example that crates/core/src/lib.rs does not include`);
    }
  }
});

test("no doc but QUALITY.md quotes a built size: the build prints them", () => {
  for (const file of docFiles.filter((f) => f !== "docs/QUALITY.md")) {
    const figure = read(file).match(/\d[\d,.]*\s?(?:[KM]i?B|bytes|B)\s+(?:gzip|brotli)/i);
    assert.equal(figure, null, `${file} quotes "${figure?.[0]}": point to \`npm run build\` instead`);
  }
});

// ----- docs/SERVER.md against crates/server -----

/** Every `kindred serve` setting: its flag, variable, default (from `[default: ...]`) and command. */
function serverSettings() {
  const source = rust("crates/server/src/config.rs");
  const serveOnly = source.indexOf("pub struct ServeArgs");
  const settings = [];
  for (const m of source.matchAll(/((?:[ \t]*\/\/\/.*\n)*)[ \t]*#\[arg\(([^\]]*?)\)\]\s*pub (\w+): Option</g)) {
    const env = m[2].match(/env = "(KINDRED_\w+)"/);
    assert.ok(env, `the flag of ${m[3]} has no environment variable`);
    const doc = m[1].replace(/^\s*\/\/\/ ?/gm, "").replace(/\n/g, " ");
    settings.push({
      flag: `--${m[3].replace(/_/g, "-")}`,
      env: env[1],
      fallback: doc.match(/\[default: ([^\]]+)\]/)?.[1] ?? "none",
      scope: m.index > serveOnly ? "serve" : "both",
    });
  }
  assert.ok(settings.length >= 20, `found only ${settings.length} settings in config.rs`);
  return settings;
}

test("docs/SERVER.md lists every server setting with its variable, default and command", () => {
  const rows = table(read("docs/SERVER.md"), "flag");
  const documented = new Map(rows.map((r) => [unquote(r[0]), r]));
  const settings = serverSettings();
  for (const s of settings) {
    const row = documented.get(s.flag);
    assert.ok(row, `${s.flag} is not in docs/SERVER.md's configuration table`);
    assert.equal(unquote(row[1]), s.env, `${s.flag}: variable`);
    assert.equal(unquote(row[2]), unquote(s.fallback), `${s.flag}: default (config.rs says [default: ${s.fallback}])`);
    assert.equal(row[3], s.scope, `${s.flag}: which commands read it`);
  }
  const flags = new Set(settings.map((s) => s.flag));
  for (const name of documented.keys()) {
    if (!name.startsWith("(file only)")) assert.ok(flags.has(name), `docs/SERVER.md documents ${name}, which config.rs lacks`);
  }
  // The file takes the same settings, plus the caps.
  const file = rust("crates/server/src/config.rs").match(/struct FileConfig \{([\s\S]*?)\n\}/)[1];
  for (const [, key] of file.matchAll(/^\s*(\w+): Option</gm)) {
    const flag = `--${key.replace(/_/g, "-")}`;
    assert.ok(flags.has(flag) || (key === "caps" && documented.has("(file only) [caps]")), `file key ${key} is undocumented`);
  }
});

test("docs/SERVER.md names every route, error code and metric of the server", () => {
  const doc = read("docs/SERVER.md");
  const serve = readdirSync(join(root, "crates/server/src/serve")).map((f) => rust(`crates/server/src/serve/${f}`));
  const routes = serve.flatMap((s) => [...s.matchAll(/\.route\(\s*"([^"{]+)",\s*(get|post)\(/g)]);
  assert.ok(routes.length >= 7, `found ${routes.length} routes`);
  for (const [, path, method] of routes) {
    assert.ok(doc.includes(`\`${method.toUpperCase()} ${path}\``), `route ${method.toUpperCase()} ${path} is undocumented`);
  }

  const sources = [...serve, rust("crates/server/src/ingest/mod.rs")];
  const codes = new Set();
  for (const s of sources) {
    for (const m of s.matchAll(/ApiError::new\(\s*StatusCode::\w+,\s*"([a-z-]+)"/g)) codes.add(m[1]);
    for (const m of s.matchAll(/Rejection::new\(\s*"([a-z-]+)"/g)) codes.add(m[1]);
    for (const m of s.matchAll(/pub const \w+: &str = "([a-z-]+)"/g)) codes.add(m[1]);
    for (const [, arms] of s.matchAll(/let code = match \w+ \{([\s\S]*?)\};/g)) {
      for (const m of arms.matchAll(/=> "([a-z-]+)"/g)) codes.add(m[1]);
    }
  }
  assert.ok(codes.size >= 20, `found ${codes.size} error codes`);
  for (const code of codes) assert.ok(doc.includes(`\`${code}\``), `error code ${code} is undocumented`);

  const metrics = [...rust("crates/server/src/metrics.rs").matchAll(/"(kindred_[a-z_]+)"/g)].map((m) => m[1]);
  assert.ok(metrics.length >= 10, `found ${metrics.length} metrics`);
  for (const name of metrics) assert.ok(doc.includes(`\`${name}`), `metric ${name} is undocumented`);
});

// ----- docs/STOREFRONT.md against www/loader -----

test("docs/STOREFRONT.md documents exactly the data- attributes the script tag reads", () => {
  const loader = readdirSync(join(root, "www/loader"))
    .filter((f) => f.endsWith(".js"))
    .map((f) => read(`www/loader/${f}`))
    .join("\n");
  const kebab = (camel) => `data-${camel.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
  const used = new Set([
    ...[...loader.matchAll(/\bd\.([a-z][A-Za-z]*)/g)].map((m) => kebab(m[1])), // `d = el.dataset`
    ...[...loader.matchAll(/data-[a-z]+(?:-[a-z]+)*/g)].map((m) => m[0]),
  ]);
  assert.ok(used.size >= 20, `found ${used.size} attributes in www/loader`);
  const doc = read("docs/STOREFRONT.md");
  const mentions = new Set([...doc.matchAll(/data-[a-z]+(?:-[a-z]+)*/g)].map((m) => m[0]));
  for (const name of used) assert.ok(mentions.has(name), `${name} is read by www/loader but not in docs/STOREFRONT.md`);
  for (const [name] of prose(doc).matchAll(/data-[a-z]+(?:-[a-z]+)*/g)) {
    assert.ok(used.has(name), `docs/STOREFRONT.md documents ${name}, which www/loader never reads`);
  }
});

test("docs/STOREFRONT.md's Content-Security-Policy is the one the demo pages run under", () => {
  const block = read("docs/STOREFRONT.md").match(/```text\n([\s\S]*?)```/)[1];
  const documented = block.trim().split("\n").join(" ");
  const pages = readdirSync(join(root, "www")).filter((f) => f.endsWith(".html"));
  assert.ok(pages.length >= 5);
  for (const page of pages) {
    const meta = read(`www/${page}`).match(/http-equiv="Content-Security-Policy" content="([^"]+)"/);
    assert.ok(meta, `www/${page} has no Content-Security-Policy`);
    assert.equal(meta[1], documented, `www/${page}`);
  }
});

// ----- docs/API.md against src/kindred.d.ts -----

/** The fields of an interface in kindred.d.ts with the `[default]` of their doc comment. */
function typedFields(name) {
  const dts = read("src/kindred.d.ts");
  const body = dts.match(new RegExp(`export interface ${name} \\{([\\s\\S]*?)\\n\\}`))[1];
  const fields = new Map();
  for (const m of body.matchAll(/(?:\/\*\*([\s\S]*?)\*\/\s*)?^ {2}(\w+)\??: ([^;]+);/gm)) {
    if (m[3].trim() === "never") continue; // removed options, kept only to say so
    const brackets = [...(m[1] ?? "").matchAll(/\[([^\]]+)\]/g)];
    fields.set(m[2], brackets.at(-1)?.[1]);
  }
  return fields;
}

/** The union members of a string field in kindred.d.ts (`code: "a" | "b"`). */
function typedUnion(iface, field) {
  const dts = read("src/kindred.d.ts");
  const body = dts.match(new RegExp(`export interface ${iface} \\{([\\s\\S]*?)\\n\\}`))[1];
  const type = body.match(new RegExp(`${field}:([^;]+);`))[1];
  return [...type.matchAll(/"([^"]+)"/g)].map((m) => m[1]);
}

for (const [iface, header] of [
  ["KindredOptions", "option"],
  ["PrivacyConfig", "field"],
  ["Caps", "`caps` field"],
]) {
  test(`docs/API.md lists every field of ${iface} with the default kindred.d.ts gives`, () => {
    const typed = typedFields(iface);
    assert.ok(typed.size >= 5, `found ${typed.size} fields of ${iface}`);
    const rows = new Map(table(read("docs/API.md"), header).map((r) => [unquote(r[0]), r]));
    for (const [field, fallback] of typed) {
      const row = rows.get(field);
      assert.ok(row, `${iface}.${field} is not in docs/API.md`);
      if (fallback !== undefined) assert.equal(unquote(row[1]), unquote(fallback), `${iface}.${field}: default`);
    }
    for (const field of rows.keys()) assert.ok(typed.has(field), `docs/API.md lists ${field}, which ${iface} lacks`);
  });
}

test("docs/API.md names every warning code and update reason", () => {
  const doc = read("docs/API.md");
  for (const code of [...typedUnion("Warning", "code"), ...typedUnion("Update", "reason")]) {
    assert.ok(doc.includes(`\`${code}\``), `${code} is not in docs/API.md`);
  }
});
