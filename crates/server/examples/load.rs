//! A bounded load test of `POST /v1/reports` on loopback: an open-loop generator (requests
//! are scheduled at a fixed rate whether or not earlier ones were answered) over keep-alive
//! HTTP/1.1 connections, written directly on tokio sockets so the client costs little of
//! the machine it shares with the server.
//!
//! Latency is measured from each request's **scheduled** time, not its send time, so a
//! server that falls behind is charged for the queue it causes (no coordinated omission).
//!
//! ```sh
//! cargo build --release -p kindred-server     # the server binary, next to this example
//! cargo run --release -p kindred-server --example load -- --rate 5000 --seconds 10
//! ```
//!
//! Without `--url` it starts `target/release/kindred serve` itself on a fresh database in
//! `target/load/` (rate limiting off, fsync on every commit as always) and stops it at the
//! end. Reports are realistic: 1 to 16 items from a 10k-item catalog with Zipf popularity,
//! the pairs among them, interests and recommendation counters; every one is valid, so any
//! answer but 202 is an error. Prints throughput and latency percentiles and whether the
//! product target (>= 5,000 reports/s, p99 < 20 ms) was met; exits 1 when requests failed.

use std::io::{BufRead, BufReader as StdBufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use kindred_core::SplitMix64;
use kindred_core::DEFAULT_WINDOW_DAYS as WINDOW_DAYS;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, Mutex};

const CATALOG: usize = 10_000;
const BODIES: usize = 4096;
/// The admin token of the server this tool starts (loopback only, for reading /metrics).
const LOAD_TOKEN: &str = "load-test-token-0123456789";

#[derive(Debug)]
struct Args {
    url: Option<String>,
    rate: u64,
    seconds: u64,
    connections: usize,
    kindred: Option<PathBuf>,
}

fn usage() -> ! {
    eprintln!(
        "usage: load [--rate REPORTS_PER_S (5000)] [--seconds S (10, at most 120)] \
         [--connections N (64)] [--url http://HOST:PORT] [--kindred PATH]"
    );
    std::process::exit(2)
}

fn parse_args() -> Args {
    let mut args = Args {
        url: None,
        rate: 5000,
        seconds: 10,
        connections: 64,
        kindred: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| usage());
        match flag.as_str() {
            "--url" => args.url = Some(value().trim_end_matches('/').to_owned()),
            "--rate" => args.rate = value().parse().unwrap_or_else(|_| usage()),
            "--seconds" => args.seconds = value().parse().unwrap_or_else(|_| usage()),
            "--connections" => args.connections = value().parse().unwrap_or_else(|_| usage()),
            "--kindred" => args.kindred = Some(PathBuf::from(value())),
            _ => usage(),
        }
    }
    if args.rate == 0 || args.seconds == 0 || args.seconds > 120 || args.connections == 0 {
        usage();
    }
    args
}

/// Zipf-like draw in `0..n` (exponent about 1): a few items get most of the traffic.
fn zipf(rng: &mut SplitMix64, n: usize) -> usize {
    let u = rng.unit();
    (((n as f64 + 1.0).powf(u) - 1.0) as usize).min(n - 1)
}

/// A valid daily report for the 30-day `window`, as a browser would send it (new keys of the
/// window, well within its caps).
fn report(rng: &mut SplitMix64, window: u32) -> String {
    let n = 1 + rng.below(6) + if rng.unit() < 0.2 { rng.below(10) } else { 0 };
    let mut items: Vec<String> = (0..n.min(16))
        .map(|_| format!("sku-{:05}", zipf(rng, CATALOG)))
        .collect();
    items.sort_unstable();
    items.dedup();
    let mut pairs = Vec::new();
    for (i, a) in items.iter().enumerate() {
        for b in &items[i + 1..] {
            if pairs.len() < 16 && rng.unit() < 0.5 {
                pairs.push(format!("[\"{a}\",\"{b}\"]"));
            }
        }
    }
    let mut interests: Vec<String> = items
        .iter()
        .take(8)
        .map(|id| {
            let n: usize = id[4..].parse().unwrap_or(0);
            format!("\"category:Dept {} > Aisle {}\"", n % 12, n % 97)
        })
        .collect();
    interests.sort_unstable();
    interests.dedup();
    let quoted: Vec<String> = items.iter().map(|i| format!("\"{i}\"")).collect();
    let mut body = format!(
        r#"{{"v":2,"window":{window},"days":{WINDOW_DAYS},"mode":"threshold","items":[{}]"#,
        quoted.join(",")
    );
    if !pairs.is_empty() {
        body.push_str(&format!(",\"pairs\":[{}]", pairs.join(",")));
    }
    body.push_str(&format!(",\"interests\":[{}]", interests.join(",")));
    if rng.unit() < 0.6 {
        body.push_str(&format!(
            r#","strategies":{{"for-you":{{"impressions":{},"clicks":{}}}}}"#,
            1,
            rng.below(2)
        ));
    }
    body.push('}');
    body
}

/// A started `kindred serve` (killed when dropped).
struct Spawned(Child);

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let _ = self.0.wait();
    }
}

fn start_server(args: &Args) -> (Spawned, String) {
    let exe = std::env::current_exe().expect("own path");
    let kindred = args.kindred.clone().unwrap_or_else(|| {
        // target/release/examples/load -> target/release/kindred
        exe.parent()
            .and_then(|p| p.parent())
            .map(|p| p.join("kindred"))
            .expect("target dir")
    });
    if !kindred.exists() {
        eprintln!(
            "{} not found: build it first with `cargo build --release -p kindred-server`, or pass --url or --kindred",
            kindred.display()
        );
        std::process::exit(2);
    }
    let dir = exe
        .parent()
        .and_then(|p| p.parent())
        .and_then(|p| p.parent())
        .map(|p| p.join("load"))
        .expect("target dir");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("www")).expect("load dir");
    let mut child = Command::new(&kindred)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--rate-limit",
            "0",
            "--rebuild-every",
            "0",
        ])
        .arg("--database")
        .arg(dir.join("kindred.db"))
        .arg("--static-dir")
        .arg(dir.join("www"))
        .env("KINDRED_LOG", "warn")
        .env("KINDRED_ADMIN_TOKEN", LOAD_TOKEN)
        .stdout(Stdio::piped())
        .spawn()
        .expect("kindred serve starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = StdBufReader::new(stdout).lines();
    let line = lines
        .next()
        .and_then(Result::ok)
        .expect("kindred prints its address");
    std::thread::spawn(move || for _ in lines {});
    let url = line
        .split_once("http://")
        .map(|(_, a)| format!("http://{}", a.trim()))
        .expect("address line");
    (Spawned(child), url)
}

/// One keep-alive connection: sends a request, reads status, headers and body.
async fn exchange(conn: &mut BufReader<TcpStream>, request: &[u8]) -> std::io::Result<u16> {
    conn.get_mut().write_all(request).await?;
    let mut line = String::new();
    conn.read_line(&mut line).await?;
    let status = line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad status line {line:?}")))?;
    let mut length = 0usize;
    loop {
        line.clear();
        if conn.read_line(&mut line).await? == 0 {
            return Err(std::io::Error::other("connection closed"));
        }
        if line == "\r\n" {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0u8; length];
    conn.read_exact(&mut body).await?;
    Ok(status)
}

#[derive(Debug, Default)]
struct Outcome {
    latencies_us: Vec<u64>,
    accepted: u64,
    errors: u64,
    first_error: Option<String>,
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

fn main() {
    let args = parse_args();
    let (_server, url) = match &args.url {
        Some(u) => (None, u.clone()),
        None => {
            let (s, u) = start_server(&args);
            (Some(s), u)
        }
    };
    let host = url.trim_start_matches("http://").to_owned();
    let today = kindred_core::epoch_of(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock")
            .as_millis() as i64,
    );
    // The window open today (the server's default window length).
    let window = kindred_core::window_of(today, WINDOW_DAYS);
    let mut rng = SplitMix64::new(42);
    let requests: Arc<Vec<Vec<u8>>> = Arc::new(
        (0..BODIES)
            .map(|_| {
                let body = report(&mut rng, window);
                format!(
                    "POST /v1/reports HTTP/1.1\r\nhost: {host}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                    body.len()
                )
                .into_bytes()
            })
            .collect(),
    );
    let total = args.rate * args.seconds;
    println!(
        "load: {total} reports at {} reports/s over {} connections to {url}",
        args.rate, args.connections
    );
    // One thread for the client: it leaves the other core to the server.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (outcome, elapsed) = runtime.block_on(run(&args, &host, requests, total));
    let mut lat = outcome.latencies_us;
    lat.sort_unstable();
    let achieved = outcome.accepted as f64 / elapsed.as_secs_f64();
    let p99 = percentile(&lat, 0.99);
    println!(
        "accepted:   {} of {total} ({} errors)",
        outcome.accepted, outcome.errors
    );
    if let Some(e) = &outcome.first_error {
        println!("first error: {e}");
    }
    println!(
        "throughput: {achieved:.0} reports/s over {:.2} s",
        elapsed.as_secs_f64()
    );
    println!(
        "latency ms: p50 {:.2}  p90 {:.2}  p99 {:.2}  p99.9 {:.2}  max {:.2}",
        percentile(&lat, 0.5),
        percentile(&lat, 0.9),
        p99,
        percentile(&lat, 0.999),
        percentile(&lat, 1.0)
    );
    // The server kept up when every report was accepted and the last answer came within 2 %
    // of the planned duration (a server that falls behind drains a queue after it).
    let kept_up =
        outcome.accepted == total && elapsed.as_secs_f64() <= args.seconds as f64 * 1.02 + 0.05;
    println!(
        "kept up with {} reports/s: {}",
        args.rate,
        if kept_up { "yes" } else { "no" }
    );
    let met = args.rate >= 5000 && kept_up && p99 < 20.0;
    println!(
        "target (>= 5000 reports/s sustained, p99 < 20 ms): {}",
        if met { "met" } else { "MISSED" }
    );
    let token = std::env::var("KINDRED_ADMIN_TOKEN").unwrap_or_else(|_| LOAD_TOKEN.to_owned());
    if let Ok(metrics) = runtime.block_on(fetch_metrics(&host, &token)) {
        let value = |name: &str| {
            metrics
                .lines()
                .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
                .and_then(|l| l.rsplit(' ').next())
                .and_then(|v| v.parse::<f64>().ok())
        };
        if let (Some(sum), Some(count), Some(reqs)) = (
            value("kindred_commit_duration_seconds_sum"),
            value("kindred_commit_duration_seconds_count"),
            value("kindred_commit_requests_sum"),
        ) {
            if count > 0.0 {
                println!(
                    "server: {count:.0} commits, {:.1} requests per commit, {:.2} ms per commit",
                    reqs / count,
                    sum / count * 1000.0
                );
            }
        }
    }
    if outcome.errors > 0 {
        std::process::exit(1);
    }
}

/// `/metrics` needs the admin token: the one this tool gave the server it started, or
/// `KINDRED_ADMIN_TOKEN` for a server given with `--url`.
async fn fetch_metrics(host: &str, token: &str) -> std::io::Result<String> {
    let mut s = TcpStream::connect(host).await?;
    s.write_all(
        format!(
            "GET /metrics HTTP/1.1\r\nhost: {host}\r\nauthorization: Bearer {token}\r\nconnection: close\r\n\r\n"
        )
        .as_bytes(),
    )
    .await?;
    let mut out = String::new();
    s.read_to_string(&mut out).await?;
    Ok(out)
}

async fn run(
    args: &Args,
    host: &str,
    requests: Arc<Vec<Vec<u8>>>,
    total: u64,
) -> (Outcome, Duration) {
    let (tx, rx) = mpsc::channel::<(u64, Instant)>(total as usize);
    let rx = Arc::new(Mutex::new(rx));
    let outcome = Arc::new(Mutex::new(Outcome::default()));
    let mut workers = Vec::new();
    for _ in 0..args.connections {
        let (rx, outcome, requests, host) = (
            rx.clone(),
            outcome.clone(),
            requests.clone(),
            host.to_owned(),
        );
        workers.push(tokio::spawn(async move {
            let mut conn = match TcpStream::connect(&host).await {
                Ok(c) => {
                    let _ = c.set_nodelay(true);
                    BufReader::new(c)
                }
                Err(e) => {
                    let mut o = outcome.lock().await;
                    o.errors += 1;
                    o.first_error.get_or_insert(e.to_string());
                    return;
                }
            };
            loop {
                let job = rx.lock().await.recv().await;
                let Some((i, scheduled)) = job else { return };
                let request = &requests[i as usize % requests.len()];
                let result = exchange(&mut conn, request).await;
                let micros = scheduled.elapsed().as_micros() as u64;
                let mut o = outcome.lock().await;
                o.latencies_us.push(micros);
                match result {
                    Ok(202) => o.accepted += 1,
                    Ok(status) => {
                        o.errors += 1;
                        o.first_error.get_or_insert(format!("HTTP {status}"));
                    }
                    Err(e) => {
                        o.errors += 1;
                        o.first_error.get_or_insert(e.to_string());
                        return;
                    }
                }
            }
        }));
    }
    let start = Instant::now();
    let interval = Duration::from_secs_f64(1.0 / args.rate as f64);
    let mut sent = 0u64;
    while sent < total {
        // Send everything due by now (timers tick in milliseconds; several requests are due
        // per tick at thousands per second).
        let due = ((start.elapsed().as_secs_f64() * args.rate as f64) as u64 + 1).min(total);
        while sent < due {
            let scheduled = start + interval.mul_f64(sent as f64);
            if tx.send((sent, scheduled)).await.is_err() {
                break;
            }
            sent += 1;
        }
        let next = start + interval.mul_f64(sent as f64);
        tokio::time::sleep_until(next.into()).await;
    }
    drop(tx);
    for w in workers {
        let _ = w.await;
    }
    let elapsed = start.elapsed();
    let outcome = std::mem::take(&mut *outcome.lock().await);
    (outcome, elapsed)
}
