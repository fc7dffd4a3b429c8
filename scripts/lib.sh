# Sourced by scripts/* and scripts/ci/*: runs them from the repository root, and holds what
# more than one of them needs: how a CI step reports a failure, and the one definition of the
# shipped wasm build (its toolchain, flags and target directory).
# shellcheck shell=bash

set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# On CI (a fresh clone, built once) incremental compilation only costs disk: its caches were
# a gigabyte of target/debug.
if [ -n "${CI:-}" ]; then
    export CARGO_INCREMENTAL=0
fi

# The toolchain of the shipped wasm build: $KINDRED_WASM_TOOLCHAIN when set (to try another
# nightly, e.g. KINDRED_WASM_TOOLCHAIN=nightly-2026-06-01), else the pinned one in
# [workspace.metadata.kindred] of Cargo.toml, which says why it is a nightly.
wasm_toolchain() {
    if [ -n "${KINDRED_WASM_TOOLCHAIN:-}" ]; then
        printf '%s\n' "$KINDRED_WASM_TOOLCHAIN"
        return
    fi
    local pinned
    pinned="$(sed -n 's/^wasm-toolchain *= *"\(.*\)".*/\1/p' Cargo.toml)"
    if [ -z "$pinned" ]; then
        printf 'error: no `wasm-toolchain = "..."` in [workspace.metadata.kindred] of Cargo.toml\n' >&2
        return 1
    fi
    printf '%s\n' "$pinned"
}

# with_shipped_wasm_build COMMAND...: runs a cargo (or wasm-pack) command the way the shipped
# module is built: the wasm toolchain, std rebuilt for wasm32 with the immediate-abort panic
# strategy (no panic messages, locations or formatting machinery: 25 KB gzip), size-optimized,
# in its own target dir so the stable builds of tests and lints keep their cache (and one per
# overriding toolchain, so trying one keeps the pinned one's). Cargo options the build needs
# go after the command's own: "${SHIPPED_WASM_CARGO_ARGS[@]}".
SHIPPED_WASM_PROFILE=wasm-release
SHIPPED_WASM_CARGO_ARGS=(-Zbuild-std=std,panic_abort -Zbuild-std-features=optimize_for_size)
with_shipped_wasm_build() {
    local toolchain
    toolchain="$(wasm_toolchain)"
    RUSTUP_TOOLCHAIN="$toolchain" \
        RUSTFLAGS="-Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none" \
        CARGO_TARGET_DIR="$PWD/target/wasm-${KINDRED_WASM_TOOLCHAIN:-nightly}" \
        "$@"
}

# check DESCRIPTION COMMAND...: prints DESCRIPTION, runs COMMAND and, when it fails, says what
# failed, the exact command and how to run this step alone, then exits 1. FIX, when set, is
# printed too (how to fix it).
check() {
    local what="$1"
    shift
    printf -- '--> %s\n' "$what"
    if ! "$@"; then
        printf '\n!!! failed: %s\n    command: %s\n' "$what" "$*" >&2
        [ -z "${FIX:-}" ] || printf '    fix: %s\n' "$FIX" >&2
        printf '    run this step alone: scripts/ci/%s\n' "$(basename "$0")" >&2
        exit 1
    fi
}
