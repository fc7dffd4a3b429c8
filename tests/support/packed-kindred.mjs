// The npm package as a user gets it: `npm pack` of this repository (pkg/ must be built), the
// tarball installed into a fresh app directory outside the repository, so nothing resolves
// through the repository's own files or node_modules.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));

function npm(args, cwd) {
  const run = spawnSync("npm", [...args, "--no-audit", "--no-fund", "--loglevel=error"], { cwd, encoding: "utf8" });
  if (run.status !== 0) throw new Error(`npm ${args.join(" ")} failed in ${cwd}:\n${run.stdout}${run.stderr}`);
  return run.stdout;
}

/** Packs the repository; returns the tarball's path and the files it holds. */
export function packKindred() {
  if (!existsSync(join(root, "pkg/kindred_bg.wasm"))) {
    throw new Error("pkg/kindred_bg.wasm is missing: run `npm run build` (scripts/build-wasm) first");
  }
  const into = mkdtempSync(join(tmpdir(), "kindred-pack-"));
  const [packed] = JSON.parse(npm(["pack", "--json", "--pack-destination", into], root));
  return { tarball: join(into, packed.filename), files: packed.files.map((f) => f.path) };
}

/**
 * A new app directory (its own package.json, `"type": "module"`) with the packed tarball
 * (`tarball`, or a fresh pack) installed as its dependency `kindred`; installs offline: the
 * package needs nothing else. The caller removes the directory.
 */
export function appWithKindred(name, tarball) {
  const packed = tarball ?? packKindred().tarball;
  const app = mkdtempSync(join(tmpdir(), `kindred-${name}-`));
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: `kindred-${name}`, private: true, type: "module" }));
  try {
    npm(["install", "--offline", packed], app);
  } finally {
    if (!tarball) rmSync(dirname(packed), { recursive: true, force: true });
  }
  return app;
}
