#!/usr/bin/env bash
# Runs the Pass appliance demo on this machine: a kitchen screen and an order terminal, each in
# its own window. Installs what it needs first. Ctrl-C stops everything.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$PASS_ROOT"

ensure_build_deps
say "building the kitchen screen and the order terminal"
cargo build --quiet -p kds -p order-terminal -p pass-shared

if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
    say "no display found (neither DISPLAY nor WAYLAND_DISPLAY is set): the windows cannot open here."
    say "run this on a desktop, or see scripts/screenshot.sh to render them under Xvfb."
    exit 0
fi

pids=()
stop() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap stop EXIT INT TERM
"$CARGO_TARGET_DIR/debug/kds" --station grill & pids+=($!)
"$CARGO_TARGET_DIR/debug/order-terminal" & pids+=($!)
say "running: kitchen screen (grill) and order terminal — Ctrl-C stops both"
wait -n "${pids[@]}" || true
