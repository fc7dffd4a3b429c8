//! Runs the built `kindred` binary and checks what a user sees.

use std::process::{Command, Output};

fn kindred(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kindred"))
        .args(args)
        .env_remove("KINDRED_ADMIN_TOKEN")
        .output()
        .expect("the kindred binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn version_prints_the_crate_version() {
    let out = kindred(&["--version"]);
    assert!(out.status.success(), "--version failed: {out:?}");
    assert_eq!(
        text(&out.stdout).trim(),
        format!("kindred {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn help_lists_the_commands() {
    let out = kindred(&["--help"]);
    assert!(out.status.success(), "--help failed: {out:?}");
    let stdout = text(&out.stdout);
    assert!(
        stdout.starts_with("kindred: the self-hosted server"),
        "{stdout}"
    );
    let line = |name: &str| {
        stdout
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("--help does not list `{name}`:\n{stdout}"))
            .to_owned()
    };
    for done in [
        "serve",
        "build-model",
        "simulate",
        "evaluate",
        "demo-catalog",
    ] {
        assert!(!line(done).contains("(planned)"), "{done} is implemented");
    }
}

#[test]
fn serve_help_documents_every_setting_with_its_variable_and_default() {
    let out = Command::new(env!("CARGO_BIN_EXE_kindred"))
        .args(["serve", "--help"])
        .env("KINDRED_ADMIN_TOKEN", "never-print-this-token")
        .output()
        .expect("runs");
    assert!(out.status.success(), "{out:?}");
    let help = text(&out.stdout);
    for (flag, env) in [
        ("--config", "KINDRED_CONFIG"),
        ("--listen", "KINDRED_LISTEN"),
        ("--database", "KINDRED_DATABASE"),
        ("--site", "KINDRED_SITE"),
        ("--allowed-origins", "KINDRED_ALLOWED_ORIGINS"),
        ("--admin-token", "KINDRED_ADMIN_TOKEN"),
        ("--modes", "KINDRED_MODES"),
        ("--k", "KINDRED_K"),
        ("--epsilon", "KINDRED_EPSILON"),
        ("--delta", "KINDRED_DELTA"),
        ("--window-days", "KINDRED_WINDOW_DAYS"),
        ("--presence-delta", "KINDRED_PRESENCE_DELTA"),
        ("--ldp-epsilon", "KINDRED_LDP_EPSILON"),
        ("--ldp-set-size", "KINDRED_LDP_SET_SIZE"),
        ("--catalog", "KINDRED_CATALOG"),
        ("--rebuild-every", "KINDRED_REBUILD_EVERY"),
        ("--retention-days", "KINDRED_RETENTION_DAYS"),
        ("--release-delay-days", "KINDRED_RELEASE_DELAY_DAYS"),
        ("--static-dir", "KINDRED_STATIC_DIR"),
        ("--rate-limit", "KINDRED_RATE_LIMIT"),
        ("--client-ip-header", "KINDRED_CLIENT_IP_HEADER"),
        ("--drain-seconds", "KINDRED_DRAIN_SECONDS"),
    ] {
        assert!(help.contains(flag), "{flag} missing:\n{help}");
        assert!(
            help.contains(&format!("[env: {env}")),
            "{env} missing:\n{help}"
        );
    }
    for default in [
        "127.0.0.1:8080",
        "kindred.db",
        "[default: www]",
        "[default: 1h]",
        "[default: 400]",
        "[default: 30]",
        "[default: 0.000001]",
        "per shopper per window",
        "50 is the strict setting",
    ] {
        assert!(help.contains(default), "{default} missing:\n{help}");
    }
    assert!(
        !help.contains("never-print-this-token"),
        "the token leaked:\n{help}"
    );
}

#[test]
fn running_without_a_subcommand_shows_help_and_fails() {
    let out = kindred(&[]);
    assert!(
        !out.status.success(),
        "bare `kindred` must not pretend to work"
    );
    assert!(text(&out.stderr).contains("Usage: kindred"), "{out:?}");
}

#[test]
fn unknown_subcommands_and_missing_options_fail() {
    let out = kindred(&["frobnicate"]);
    assert!(!out.status.success());
    let out = kindred(&["simulate"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--events"), "{out:?}");
}

#[test]
fn bad_settings_stop_the_server_with_the_setting_named() {
    let out = kindred(&["serve", "--modes", "ldp"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(text(&out.stderr).contains("--catalog"), "{out:?}");
    let out = kindred(&["serve", "--modes", "off"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("unknown mode \"off\""),
        "{out:?}"
    );
    let out = kindred(&["serve", "--admin-token", "short"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("admin-token"), "{out:?}");
}

#[test]
fn build_model_on_a_new_database_publishes_an_empty_model() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-build-model");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let db = dir.join("k.db");
    let db = db.to_str().expect("utf-8 path");
    let out = kindred(&["build-model", "--database", db]);
    assert!(out.status.success(), "{out:?}");
    let stdout = text(&out.stdout);
    assert!(stdout.contains("released 0 window(s)"), "{stdout}");
    assert!(stdout.contains("version 1 (new)"), "{stdout}");
    let again = text(&kindred(&["build-model", "--database", db]).stdout);
    assert!(
        again.contains("version 1 (unchanged, nothing to rebuild)"),
        "{again}"
    );
}
