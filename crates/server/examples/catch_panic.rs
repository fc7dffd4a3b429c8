//! Checks that `kindred serve`, built with the profile it ships with, survives a panicking
//! handler: the request gets the server's JSON 500 and the next requests are served.
//!
//! ```sh
//! cargo run --release -p kindred-server --example catch_panic   # scripts/ci/test-release
//! ```
//!
//! The regression it guards: with `panic = "abort"` in `[profile.release]`, the catch-panic
//! layer of the server never ran; the first panic in any handler killed the process and every
//! request in flight. Only a binary built with that profile shows it: cargo builds tests and
//! benchmarks with unwinding whatever the profile says, so no `#[test]` can. This example is
//! built like the `kindred` binary (same crate, same profile), and it is not shipped, so the
//! panicking route exists nowhere but here.
//!
//! It runs itself twice: the parent starts a child process that serves the real router
//! ([`serve::run_with_routes`]) plus `GET /panic`, then sends it requests over loopback. A
//! child that aborts is reported with its exit status instead of taking the check down.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, ExitCode, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use axum::routing::get;
use axum::Router;
use kindred_server::config::{CommonArgs, ServeArgs, ServeSettings};
use kindred_server::serve::{self, SharedState};

/// The child's first argument: serve, on the database in the directory that follows.
const SERVE: &str = "serve-with-a-panicking-route";
const PANIC_ROUTE: &str = "/panic";
const PANIC_MESSAGE: &str = "a deliberate panic in a handler (examples/catch_panic.rs)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [mode, dir] if mode == SERVE => serve_with_panicking_route(Path::new(dir)),
        [] => match check() {
            Ok(()) => {
                println!("ok: a panicking handler got a 500 and the server kept serving");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        },
        _ => {
            eprintln!("usage: catch_panic (no arguments)");
            ExitCode::from(2)
        }
    }
}

/// The child: the real server on 127.0.0.1 (a free port, printed on stdout as `kindred
/// serve` prints it) with one extra route that panics.
fn serve_with_panicking_route(dir: &Path) -> ExitCode {
    let args = ServeArgs {
        common: CommonArgs {
            database: Some(dir.join("kindred.db").display().to_string()),
            ..CommonArgs::default()
        },
        listen: Some(([127, 0, 0, 1], 0).into()),
        static_dir: Some(dir.join("www")),
        ..ServeArgs::default()
    };
    let settings = match ServeSettings::resolve(&args) {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("catch_panic: {e}");
            return ExitCode::FAILURE;
        }
    };
    let panicking: Router<SharedState> = Router::new().route(PANIC_ROUTE, get(panicking_handler));
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    match runtime.block_on(serve::run_with_routes(settings, panicking)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("catch_panic: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `GET /panic` of the child.
async fn panicking_handler() -> &'static str {
    panic!("{PANIC_MESSAGE}")
}

/// The parent: starts the child and checks its answers.
fn check() -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!("kindred-catch-panic-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("www")).map_err(|e| format!("{}: {e}", dir.display()))?;
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut child = Command::new(exe)
        .args([SERVE, &dir.display().to_string()])
        .env_remove("KINDRED_LOG")
        .env("RUST_BACKTRACE", "0") // the expected panic: its message, not a page of frames
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start the server: {e}"))?;
    let port = read_port(&mut child)?;
    let result = exercise(port, &mut child);
    let stopped = stop(&mut child);
    let _ = std::fs::remove_dir_all(&dir);
    result?;
    let status = stopped?;
    if !status.success() {
        return Err(format!(
            "the server did not exit cleanly on SIGTERM: {status}"
        ));
    }
    Ok(())
}

/// Health, a panic, health again (twice): each answer as `kindred serve` must give it.
fn exercise(port: u16, child: &mut Child) -> Result<(), String> {
    expect_status(port, "/v1/health", 200, child)?;
    eprintln!("(the panic message below is expected: the handler panics on purpose)");
    for round in 1..=2 {
        let body = expect_status(port, PANIC_ROUTE, 500, child)?;
        if !body.contains("\"internal-error\"") {
            return Err(format!(
                "the 500 of round {round} is not the server's JSON error: {body}"
            ));
        }
        expect_status(port, "/v1/health", 200, child)?;
    }
    Ok(())
}

/// The port from the child's first line, `kindred: listening on http://127.0.0.1:PORT`.
fn read_port(child: &mut Child) -> Result<u16, String> {
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = BufReader::new(stdout).lines();
    let line = match lines.next() {
        Some(Ok(line)) => line,
        _ => {
            return Err(format!(
                "the server exited before listening: {}",
                wait(child)
            ))
        }
    };
    // Keep draining stdout so the server never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    line.rsplit(':')
        .next()
        .and_then(|port| port.trim().parse().ok())
        .ok_or_else(|| format!("unexpected first line from the server: {line:?}"))
}

/// GETs `path` and returns the body when the status is `expected`.
fn expect_status(
    port: u16,
    path: &str,
    expected: u16,
    child: &mut Child,
) -> Result<String, String> {
    let died = |child: &mut Child, what: String| {
        let status = wait(child);
        format!(
            "GET {path}: {what} (the server process: {status}). A server killed by SIGABRT \
             was built with panic = \"abort\": [profile.release] of Cargo.toml must unwind \
             (only [profile.wasm-release] aborts)"
        )
    };
    let (status, body) = match http_get(port, path) {
        Ok(answer) => answer,
        Err(e) => return Err(died(child, e)),
    };
    if status != expected {
        return Err(format!(
            "GET {path}: status {status}, expected {expected}: {body}"
        ));
    }
    Ok(body)
}

/// One HTTP/1.1 GET on a fresh connection: (status, body).
fn http_get(port: u16, path: &str) -> Result<(u16, String), String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .map_err(|e| e.to_string())?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut answer = String::new();
    stream
        .read_to_string(&mut answer)
        .map_err(|e| format!("no answer: {e}"))?;
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| format!("no HTTP answer (the connection closed): {answer:?}"))?;
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or("").to_owned();
    Ok((status, body))
}

/// SIGTERM, then the exit status (at most 20 s).
fn stop(child: &mut Child) -> Result<ExitStatus, String> {
    if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
        return Ok(status);
    }
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .map_err(|e| format!("kill: {e}"))?;
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(20) {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            return Ok(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    Err("the server did not exit within 20 s of SIGTERM".to_owned())
}

/// The child's exit status, as text, once it has ended (it is ending: its connection
/// failed), or "still running" after 5 s.
fn wait(child: &mut Child) -> String {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(5) {
        match child.try_wait() {
            Ok(Some(status)) => return status.to_string(),
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return format!("unknown ({e})"),
        }
    }
    "still running".to_owned()
}
