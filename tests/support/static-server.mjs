// A static file server for browser tests and the benchmark: serves the repository root (or
// `options.root`, a directory) on 127.0.0.1 (a random free port) with the right MIME types,
// and nothing outside that directory.
import { createReadStream, existsSync, statSync } from "node:fs";
import { createServer } from "node:http";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";

const repository = fileURLToPath(new URL("../..", import.meta.url));
const types = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".json": "application/json",
  ".wasm": "application/wasm",
  ".css": "text/css",
};

/**
 * Starts the server; resolves with `{ url, close, reports, requests }`. `POST /v1/reports` is a
 * stand-in for the kindred server: it records each request (`reports`: body, headers) and
 * answers with the next status from `options.reportStatuses` or `failNext` (then 202); a status
 * may be `{ status, body }` to answer with that JSON body. `options.json` maps paths to values
 * served as JSON (a catalog, a model). `requests` records every request (`method`, `path`,
 * `headers`). `options.root` serves that directory instead of the repository.
 */
export async function serveRepository(options = {}) {
  const root = options.root ? join(options.root, "/") : repository;
  const reports = [];
  const requests = [];
  const statuses = [...(options.reportStatuses ?? [])];
  const server = createServer((req, res) => {
    const pathname = new URL(req.url, "http://x").pathname;
    requests.push({ method: req.method, path: pathname, headers: req.headers });
    if (req.method === "GET" && Object.hasOwn(options.json ?? {}, pathname)) {
      res.writeHead(200, { "content-type": "application/json", "cache-control": "no-store" });
      res.end(JSON.stringify(options.json[pathname]));
      return;
    }
    if (req.method === "POST" && req.url === "/v1/reports") {
      let body = "";
      req.on("data", (chunk) => (body += chunk));
      req.on("end", () => {
        const next = statuses.shift() ?? 202;
        const { status, body: answer = {} } = typeof next === "number" ? { status: next } : next;
        reports.push({ body, headers: req.headers, status });
        res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(answer));
      });
      return;
    }
    const path = normalize(decodeURIComponent(pathname));
    const file = join(root, path.endsWith("/") ? `${path}index.html` : path);
    if (!file.startsWith(root) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found");
      return;
    }
    res.writeHead(200, {
      "content-type": types[extname(file)] ?? "application/octet-stream",
      "cache-control": "no-store",
      // Cross-origin isolation gives pages 5 µs timers instead of 100 µs (the benchmark).
      "cross-origin-opener-policy": "same-origin",
      "cross-origin-embedder-policy": "require-corp",
    });
    createReadStream(file).pipe(res);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${server.address().port}`;
  return {
    url,
    reports,
    requests,
    /** Makes the next report requests answer with these statuses. */
    failNext: (...codes) => statuses.push(...codes),
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}
