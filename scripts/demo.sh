#!/usr/bin/env bash
# Runs the Pass appliance demo on this machine: one kitchen screen per station of the sample
# menu plus expo and one order terminal, each in its own window with its own database, finding
# each other by mDNS on loopback; the first screen to find no broker hosts the embedded one. Installs what it needs
# first. The store (sample menu, demo staff) is set up once in ~/.cache/pass-demo; starting again
# resumes from the journals. Ctrl-C stops everything.
#
#   scripts/demo.sh            # the demo
#   PASS_DEMO_DIR=/tmp/d scripts/demo.sh   # another demo folder
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$PASS_ROOT"

ensure_build_deps
say "building Pass (first time: several minutes; target dir: $CARGO_TARGET_DIR)"
# The test command's feature set, so the two README commands share one build of Bevy.
cargo build --quiet --workspace --all-targets

bin="$CARGO_TARGET_DIR/debug"
dir="${PASS_DEMO_DIR:-$HOME/.cache/pass-demo}"
store="demo"
stations=(grill fry saute_cold bar expo)
mkdir -p "$dir"

if [ ! -f "$dir/grill.db" ]; then
    say "setting up the demo store in $dir (sample menu, demo staff)"
    "$bin/pass" store init --db "$dir/grill.db" --menu assets/menu.toml --owner "Olivia" --pin 2580 >/dev/null
    for person in "sam Sam server 1357" "ana Ana server 2468" "ben Ben bartender 3690"; do
        read -r id name role pin <<<"$person"
        "$bin/pass" store add-staff --db "$dir/grill.db" --id "$id" --name "$name" --role "$role" \
            --pin "$pin" --by-pin 2580 >/dev/null
    done
fi
say "demo staff PINs: Olivia (owner) 2580, Sam (server) 1357, Ana (server) 2468, Ben (bartender) 3690"
say "Olivia approves voids and comps and changes settings (F10 on a kitchen screen)"

if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
    say "no display found (neither DISPLAY nor WAYLAND_DISPLAY is set): the windows cannot open here."
    say "run this on a desktop; scripts/screenshot.sh renders a screen under Xvfb, and"
    say "'pass device run --role kitchen-screen --station grill --db $dir/grill.db --device grill' runs one headless."
    exit 0
fi

pids=()
stop() {
    say "stopping every screen"
    kill "${pids[@]}" 2>/dev/null || true
    wait 2>/dev/null || true
}
trap stop EXIT INT TERM
for station in "${stations[@]}"; do
    PASS_LOG="${PASS_LOG:-warn}" "$bin/kds" --station "$station" --device "${station//_/-}" \
        --store "$store" --db "$dir/$station.db" --mdns loopback --window 1280x720 &
    pids+=($!)
done
PASS_LOG="${PASS_LOG:-warn}" "$bin/order-terminal" --device front --store "$store" \
    --db "$dir/front.db" --mdns loopback --window 1366x768 &
pids+=($!)
say "running: kitchen screens for ${stations[*]} and order terminal 'front' (logs on this terminal) — Ctrl-C stops them all"
say "sign in on the terminal with Sam's PIN 1357, tap a table, order, send: the kitchen screens show it"
say "work a screen from another terminal: $bin/pass kitchen --control $dir/grill.sock list"
wait -n "${pids[@]}" || true
