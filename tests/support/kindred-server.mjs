// Starts the real `kindred serve` (the native binary of crates/server) on 127.0.0.1 for the
// end-to-end tests, on a fresh database under target/tmp/ (nothing outside the repository).
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));

/** Builds the binary (a no-op when `cargo test` just built it); throws when it cannot. */
export function buildKindred() {
  const built = spawnSync("cargo", ["build", "--quiet", "-p", "kindred-server", "--bin", "kindred"], {
    cwd: root,
    stdio: ["ignore", "inherit", "inherit"],
  });
  if (built.status !== 0) throw new Error("cargo build -p kindred-server failed");
  return `${root}target/debug/kindred`;
}

/**
 * Starts `kindred serve --listen 127.0.0.1:0` with extra arguments (a fresh database and static
 * directory under target/tmp/ unless `args` names them); resolves with
 * `{ url, dir, stop }` once it listens. `stop()` sends SIGTERM and resolves with the exit code.
 */
export async function startKindred(name, args = [], env = {}) {
  const binary = buildKindred();
  const dir = `${root}target/tmp/node-${name}`;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(`${dir}/www`, { recursive: true });
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("KINDRED_")));
  // `args` may name its own --database or --static-dir instead of the fresh ones under `dir`.
  const defaults = [["--database", `${dir}/kindred.db`], ["--static-dir", `${dir}/www`]]
    .filter(([flag]) => !args.includes(flag))
    .flat();
  const child = spawn(
    binary,
    ["serve", "--listen", "127.0.0.1:0", ...defaults, "--rebuild-every", "0", ...args],
    { cwd: root, env: { ...clean, KINDRED_LOG: "warn", ...env }, stdio: ["ignore", "pipe", "inherit"] },
  );
  const exited = new Promise((resolve) => child.on("exit", (code) => resolve(code)));
  const lines = createInterface({ input: child.stdout });
  const url = await new Promise((resolve, reject) => {
    lines.once("line", (line) => {
      const match = /http:\/\/127\.0\.0\.1:\d+/.exec(line);
      if (match) resolve(match[0]);
      else reject(new Error(`unexpected first line from kindred: ${line}`));
    });
    child.once("exit", (code) => reject(new Error(`kindred exited with ${code} before listening`)));
  });
  return {
    url,
    dir,
    stop: () => {
      child.kill("SIGTERM");
      return exited;
    },
  };
}
