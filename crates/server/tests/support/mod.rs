//! Shared by the integration tests: the real `kindred serve` binary on 127.0.0.1 (a free port
//! it picks itself), a tiny HTTP/1.1 client that can send any bytes, and direct reads of the
//! SQLite file. Each test gets its own directory under cargo's target tmp dir.
#![allow(dead_code)] // each test binary uses a different part

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";

/// Today's UTC day number.
pub fn today() -> u32 {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis();
    kindred_core::epoch_of(ms as i64)
}

pub fn yesterday() -> u32 {
    today() - 1
}

/// The server's default window length.
pub const WINDOW_DAYS: u32 = 30;

/// The first day of the 30-day window holding `day`.
pub fn window_of(day: u32) -> u32 {
    day - day % WINDOW_DAYS
}

/// The window open today: it takes reports whatever the day of the month.
pub fn open_window() -> u32 {
    window_of(today())
}

/// A threshold report (wire format v2) for the 30-day `window` with these items.
pub fn report(window: u32, items: &[&str]) -> String {
    report_in(window, WINDOW_DAYS, items)
}

/// A threshold report for the window of `days` days from `window`.
pub fn report_in(window: u32, days: u32, items: &[&str]) -> String {
    let mut items: Vec<&str> = items.to_vec();
    items.sort_unstable();
    let list: Vec<String> = items.iter().map(|i| format!("\"{i}\"")).collect();
    format!(
        r#"{{"v":2,"window":{window},"days":{days},"mode":"threshold","items":[{}]}}"#,
        list.join(",")
    )
}

/// A fresh directory for one test.
pub fn test_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("server-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("www")).expect("test dir");
    dir
}

/// A running `kindred serve`.
pub struct Server {
    pub dir: PathBuf,
    pub port: u16,
    child: Child,
    args: Vec<String>,
}

impl Server {
    /// Starts the server on `dir/kindred.db` and `dir/www` with extra arguments.
    pub fn start(dir: &Path, args: &[&str]) -> Server {
        Server::spawn(dir, args.iter().map(|s| s.to_string()).collect())
    }

    fn spawn(dir: &Path, args: Vec<String>) -> Server {
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("server.log"))
            .expect("log file");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_kindred"));
        for (key, _) in std::env::vars() {
            if key.starts_with("KINDRED_") {
                cmd.env_remove(key);
            }
        }
        let mut child = cmd
            .arg("serve")
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--database")
            .arg(dir.join("kindred.db"))
            .arg("--static-dir")
            .arg(dir.join("www"))
            .arg("--rebuild-every")
            .arg("0")
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("kindred starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let line = lines
            .next()
            .and_then(Result::ok)
            .unwrap_or_else(|| panic!("no address line; log:\n{}", log(dir)));
        let port = line
            .rsplit(':')
            .next()
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Server {
            dir: dir.to_owned(),
            port,
            child,
            args,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) {
        let ok = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs")
            .success();
        assert!(ok, "SIGTERM delivered");
    }

    /// Waits for the process to exit.
    pub fn wait(&mut self, timeout: Duration) -> ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(
                start.elapsed() < timeout,
                "the server did not exit within {timeout:?}; log:\n{}",
                log(&self.dir)
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM, and the exit status.
    pub fn stop(mut self) -> ExitStatus {
        self.terminate();
        self.wait(Duration::from_secs(20))
    }

    /// SIGKILL (kill -9): no chance to flush anything.
    pub fn kill9(mut self) {
        self.child.kill().expect("SIGKILL");
        let _ = self.child.wait();
    }

    /// Stops (SIGTERM, exit 0 required) and starts again on the same directory and arguments.
    pub fn restart(self) -> Server {
        let dir = self.dir.clone();
        let args = self.args.clone();
        let status = self.stop();
        assert!(status.success(), "clean exit: {status:?}\n{}", log(&dir));
        Server::spawn(&dir, args)
    }

    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Response {
        request(self.port, method, path, headers, body)
    }

    pub fn get(&self, path: &str) -> Response {
        self.request("GET", path, &[], b"")
    }

    pub fn post_json(&self, path: &str, body: &str) -> Response {
        self.request(
            "POST",
            path,
            &[("content-type", "application/json")],
            body.as_bytes(),
        )
    }

    pub fn admin(&self, method: &str, path: &str) -> Response {
        let auth = format!("Bearer {ADMIN_TOKEN}");
        self.request(method, path, &[("authorization", &auth)], b"")
    }

    /// Releases closed days and rebuilds the model now.
    pub fn rebuild(&self) -> serde_json::Value {
        let r = self.admin("POST", "/v1/admin/rebuild");
        assert_eq!(r.status, 200, "{}", r.text());
        r.json()
    }

    pub fn db(&self) -> PathBuf {
        self.dir.join("kindred.db")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The server's log so far.
pub fn log(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("server.log")).unwrap_or_default()
}

/// An HTTP response.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    /// Lowercase names; repeated headers joined with ", ".
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    /// The `error` code of a JSON error body (and checks it has a `detail`).
    pub fn error_code(&self) -> String {
        let v = self.json();
        assert!(v["detail"].is_string(), "no detail: {v}");
        v["error"]
            .as_str()
            .unwrap_or_else(|| panic!("no error: {v}"))
            .to_owned()
    }
}

/// One request on a fresh connection (`Connection: close`), any bytes as body.
pub fn request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Response {
    try_request(port, method, path, headers, body)
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
}

/// [`request`], or why it got no response (connection refused or reset, no answer).
pub fn try_request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<Response, String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(|e| e.to_string())?;
    let mut head =
        format!("{method} {path} HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\nconnection: close\r\n");
    let mut has_length = false;
    for (k, v) in headers {
        has_length |=
            k.eq_ignore_ascii_case("content-length") || k.eq_ignore_ascii_case("transfer-encoding");
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if !has_length && (!body.is_empty() || method == "POST") {
        head.push_str(&format!("content-length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    stream
        .write_all(head.as_bytes())
        .map_err(|e| e.to_string())?;
    // The server may answer (e.g. 413) and close before reading everything.
    let _ = stream.write_all(body);
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    if !raw.windows(4).any(|w| w == b"\r\n\r\n") {
        return Err(format!("no response ({} bytes)", raw.len()));
    }
    Ok(parse_response(&raw, method == "HEAD"))
}

fn parse_response(raw: &[u8], head_only: bool) -> Response {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no response head in {:?}", String::from_utf8_lossy(raw)));
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let mut headers: BTreeMap<String, String> = BTreeMap::new();
    for line in lines {
        if let Some((k, v)) = line.split_once(':') {
            let k = k.trim().to_ascii_lowercase();
            let v = v.trim().to_owned();
            headers
                .entry(k)
                .and_modify(|e| {
                    e.push_str(", ");
                    e.push_str(&v);
                })
                .or_insert(v);
        }
    }
    let rest = &raw[split + 4..];
    let body = if head_only {
        Vec::new()
    } else if headers
        .get("transfer-encoding")
        .is_some_and(|t| t.contains("chunked"))
    {
        dechunk(rest)
    } else {
        rest.to_vec()
    };
    Response {
        status,
        headers,
        body,
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = data.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size_text = String::from_utf8_lossy(&data[..eol]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("0").trim(), 16)
            .unwrap_or(0);
        if size == 0 {
            return out;
        }
        let start = eol + 2;
        out.extend_from_slice(&data[start..start + size]);
        data = &data[start + size + 2..];
    }
}

/// Every stored counter row: `(first day of its window, counter, key) -> count`.
pub fn db_counters(db: &Path) -> BTreeMap<(u32, String, String), i64> {
    let conn = rusqlite::Connection::open(db).expect("opens the database");
    let mut stmt = conn
        .prepare("SELECT first_day, counter, key, count FROM counters")
        .expect("prepares");
    stmt.query_map([], |r| Ok(((r.get(0)?, r.get(1)?, r.get(2)?), r.get(3)?)))
        .expect("queries")
        .collect::<Result<_, _>>()
        .expect("reads")
}

/// Periods with a stored release: `(first day, days)`, oldest first.
pub fn db_released(db: &Path) -> Vec<(u32, u32)> {
    let conn = rusqlite::Connection::open(db).expect("opens the database");
    let mut stmt = conn
        .prepare("SELECT first_day, days FROM releases ORDER BY first_day, days")
        .expect("prepares");
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("queries")
        .collect::<Result<_, _>>()
        .expect("reads")
}

/// The value of a metric line (`name{labels} value`) in a /metrics text.
pub fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}
