#!/usr/bin/env bash
# Runs every test of Pass. Installs what it needs first (system packages, Rust).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$PASS_ROOT"

ensure_build_deps
ensure_packages "${TEST_PACKAGES[@]}"
ensure_python_tools

say "formatting check"
cargo fmt --all -- --check
say "building every program the cross-process tests start (target dir: $CARGO_TARGET_DIR)"
cargo build --workspace --all-targets
say "running every test"
cargo test --workspace --no-fail-fast
say "checking that the benchmarks build"
cargo bench -p pass-shared -p pass-tests --no-run --quiet
say "all tests passed"
