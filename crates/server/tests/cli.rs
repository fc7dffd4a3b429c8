//! Runs the built `kindred` binary and checks what a user sees.

use std::process::{Command, Output};

fn kindred(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kindred"))
        .args(args)
        .output()
        .expect("the kindred binary runs")
}

#[test]
fn version_prints_the_crate_version() {
    let out = kindred(&["--version"]);
    assert!(out.status.success(), "--version failed: {out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        stdout.trim(),
        format!("kindred {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn help_lists_the_subcommands_and_the_planned_ones() {
    let out = kindred(&["--help"]);
    assert!(out.status.success(), "--help failed: {out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.starts_with("kindred: the self-hosted server"),
        "{stdout}"
    );
    for working in ["simulate", "evaluate"] {
        assert!(
            stdout
                .lines()
                .any(|line| line.trim_start().starts_with(&format!("{working} "))
                    && !line.contains("(planned)")),
            "--help does not list `{working}`:\n{stdout}"
        );
    }
    for planned in ["serve", "build-model"] {
        assert!(
            stdout
                .lines()
                .any(|line| line.trim_start().starts_with(&format!("{planned} "))
                    && line.contains("(planned)")),
            "--help does not list `{planned}` as planned:\n{stdout}"
        );
    }
}

#[test]
fn running_without_a_subcommand_fails_instead_of_doing_nothing() {
    let out = kindred(&[]);
    assert!(
        !out.status.success(),
        "bare `kindred` must not pretend to work"
    );
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("no subcommand given"), "{stderr}");
}

#[test]
fn unknown_subcommands_are_rejected() {
    let out = kindred(&["serve"]);
    assert!(
        !out.status.success(),
        "`kindred serve` must fail until it exists"
    );
}
