//! Durability of the real `kindred serve`: every acknowledged (202) report survives a restart
//! and a `kill -9` in the middle of ingest; shutdown answers 503 while draining and exits 0.

mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::{db_counters, open_window, report, Server, ADMIN_TOKEN};

#[test]
fn a_restart_keeps_every_acknowledged_report() {
    let dir = support::test_dir("restart");
    let server = Server::start(&dir, &["--rate-limit", "0", "--admin-token", ADMIN_TOKEN]);
    let w = open_window();
    let post = |server: &Server, i: usize| {
        let r = server.post_json("/v1/reports", &report(w, &["shared", &format!("only-{i}")]));
        assert_eq!(r.status, 202, "{}", r.text());
    };
    for i in 0..40 {
        post(&server, i);
    }
    let server = server.restart();
    for i in 40..60 {
        post(&server, i);
    }
    let stats = server.admin("GET", "/v1/stats").json();
    assert_eq!(stats["pendingReports"], 60, "{stats}");
    let status = server.stop();
    assert!(status.success(), "exit 0 after SIGTERM: {status:?}");
    assert!(
        !dir.join("kindred.db-wal").exists()
            || std::fs::metadata(dir.join("kindred.db-wal")).map_or(0, |m| m.len()) == 0,
        "the WAL is checkpointed at shutdown"
    );
    let rows = db_counters(&dir.join("kindred.db"));
    assert_eq!(rows.get(&(w, "reports".into(), String::new())), Some(&60));
    assert_eq!(rows.get(&(w, "items".into(), "shared".into())), Some(&60));
    for i in 0..60 {
        assert_eq!(
            rows.get(&(w, "items".into(), format!("only-{i}"))),
            Some(&1),
            "report {i}"
        );
    }
}

#[test]
fn kill_9_during_ingest_loses_no_acknowledged_report() {
    let dir = support::test_dir("kill9");
    let server = Server::start(&dir, &["--rate-limit", "0"]);
    let port = server.port;
    let window = open_window();
    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let sent: Arc<Mutex<Vec<String>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..8)
        .map(|w| {
            let (acked, sent, stop) = (acked.clone(), sent.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut n = 0;
                while !stop.load(Ordering::SeqCst) {
                    let key = format!("w{w}-r{n}");
                    n += 1;
                    sent.lock().expect("lock").push(key.clone());
                    let body = report(window, &[&key]);
                    let Ok(r) = support::try_request(
                        port,
                        "POST",
                        "/v1/reports",
                        &[("content-type", "application/json")],
                        body.as_bytes(),
                    ) else {
                        break; // the server is gone mid-request
                    };
                    if r.status == 202 {
                        acked.lock().expect("lock").push(key);
                    }
                }
            })
        })
        .collect();
    // Let ingest run, then kill without warning while requests are in flight.
    let start = Instant::now();
    while acked.lock().expect("lock").len() < 300 && start.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(10));
    }
    server.kill9();
    stop.store(true, Ordering::SeqCst);
    for w in workers {
        let _ = w.join();
    }
    let acked = acked.lock().expect("lock").clone();
    let sent = sent.lock().expect("lock").len();
    assert!(
        acked.len() >= 300,
        "ingest ran: {} acknowledged",
        acked.len()
    );
    let rows = db_counters(&dir.join("kindred.db"));
    for key in &acked {
        assert_eq!(
            rows.get(&(window, "items".into(), key.clone())),
            Some(&1),
            "acknowledged report {key} was lost"
        );
    }
    let stored = rows
        .get(&(window, "reports".into(), String::new()))
        .copied()
        .unwrap_or(0);
    assert!(
        stored as usize >= acked.len() && stored as usize <= sent,
        "stored {stored}, acknowledged {}, sent {sent}",
        acked.len()
    );
    // The database opens cleanly after the crash, and the server starts on it.
    let server = Server::start(&dir, &["--rate-limit", "0", "--admin-token", ADMIN_TOKEN]);
    assert_eq!(
        server.admin("GET", "/v1/stats").json()["pendingReports"],
        stored
    );
}

#[test]
fn shutdown_drains_with_503_then_exits_0() {
    let dir = support::test_dir("drain");
    let mut server = Server::start(&dir, &["--rate-limit", "0", "--drain-seconds", "3"]);
    let w = open_window();
    let body = report(w, &["mug"]);
    assert_eq!(server.post_json("/v1/reports", &body).status, 202);
    server.terminate();
    let start = Instant::now();
    loop {
        let health = server.get("/v1/health");
        if health.status == 503 {
            assert_eq!(health.error_code(), "shutting-down");
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "health never turned 503"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let refused = server.post_json("/v1/reports", &body);
    assert_eq!(
        (refused.status, refused.error_code().as_str()),
        (503, "shutting-down")
    );
    assert!(refused.header("retry-after").is_some());
    let status = server.wait(Duration::from_secs(15));
    assert!(status.success(), "exit 0: {status:?}");
    let rows = db_counters(&dir.join("kindred.db"));
    assert_eq!(rows.get(&(w, "reports".into(), String::new())), Some(&1));
}
