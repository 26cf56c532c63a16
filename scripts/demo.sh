#!/usr/bin/env bash
# Runs the Pass appliance demo on this machine: one kitchen screen per station of the sample
# menu plus expo and one order terminal, each in its own window with its own database, finding
# each other by mDNS on loopback; the first screen to find no broker hosts the embedded one.
# Installs what it needs first. The store (sample menu, demo staff) is set up once in
# ~/.cache/pass-demo; starting again resumes from the journals. Ctrl-C stops everything.
#
#   scripts/demo.sh                     # the demo, in windows
#   scripts/demo.sh --rush              # ... with a dinner rush (about 120 checks an hour)
#   scripts/demo.sh --rush --rate 200   # ... a busier one
#   scripts/demo.sh --headless          # no windows (the default on a machine with no display):
#                                       # --minutes of arrivals (default 10), served until every
#                                       # check is closed, on a controlled clock as fast as the
#                                       # devices go; then the service-time and sales summary
#   scripts/demo.sh --headless --real-time --minutes 30
#                                       # ... at the clock's own pace, for thirty minutes
#   scripts/demo.sh --headless --screenshots DIR
#                                       # ... then each screen rendered once to DIR/*.png
#
# Environment: PASS_DEMO_DIR (the demo folder), PASS_DEMO_STORE (the store id, default demo),
# PASS_NO_BUILD=1 (use the programs already built).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$PASS_ROOT"

rush=0 headless=0 fast=0 realtime=0 minutes="" rate=120 shots=""
usage() {
    sed -n '2,21p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
}
while [ $# -gt 0 ]; do
    case "$1" in
        --rush) rush=1 ;;
        --headless) headless=1 ;;
        --fast) fast=1 ;;
        --real-time) realtime=1 ;;
        --minutes) minutes="${2:?--minutes needs a number}"; shift ;;
        --rate) rate="${2:?--rate needs checks per hour}"; shift ;;
        --screenshots) shots="${2:?--screenshots needs a folder}"; shift ;;
        -h | --help) usage ;;
        *) say "unknown option $1"; usage ;;
    esac
    shift
done
case "$minutes$rate" in *[!0-9]*) say "--minutes and --rate take whole numbers"; exit 2 ;; esac

ensure_build_deps
if [ "${PASS_NO_BUILD:-0}" != 1 ]; then
    say "building Pass (first time: several minutes; target dir: $CARGO_TARGET_DIR)"
    # The test command's feature set, so the two README commands share one build of Bevy.
    cargo build --quiet --workspace --all-targets
fi

bin="$CARGO_TARGET_DIR/debug"
dir="${PASS_DEMO_DIR:-$HOME/.cache/pass-demo}"
store="${PASS_DEMO_STORE:-demo}"
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
# One store password for the embedded broker, beside every device's database (owner-only), so
# whichever screen hosts the broker, the others can log in to it.
if [ ! -f "$dir/store.broker-password" ]; then
    (umask 077 && python3 -c 'import secrets; print(secrets.token_hex(16))' >"$dir/store.broker-password")
fi
for name in "${stations[@]}" front; do
    install -m 600 "$dir/store.broker-password" "$dir/$name.broker-password"
done
say "demo staff PINs: Olivia (owner) 2580, Sam (server) 1357, Ana (server) 2468, Ben (bartender) 3690"
say "Olivia approves voids and comps and changes settings (F10 on a kitchen screen)"

if [ "$headless" = 0 ] && [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
    say "no display found (neither DISPLAY nor WAYLAND_DISPLAY is set): the windows cannot open here,"
    say "so the same rush runs without windows and prints its summary (on a desktop, the screens open)"
    headless=1
fi
[ "$headless" = 1 ] && rush=1
# Without windows nobody watches the clock: a whole service is played as fast as the devices go.
[ "$headless" = 1 ] && [ "$realtime" = 0 ] && fast=1
[ "$fast" = 1 ] && [ "$realtime" = 1 ] && { say "--fast and --real-time exclude each other"; exit 2; }
[ -n "$shots" ] && [ "$headless" = 0 ] && { say "--screenshots needs --headless"; exit 2; }
minutes="${minutes:-$([ "$headless" = 1 ] && echo 10 || echo 60)}"

pids=()
stop() {
    trap - EXIT INT TERM
    if [ ${#pids[@]} -gt 0 ]; then
        say "stopping every screen (the journals keep everything; run again to resume)"
        kill -TERM "${pids[@]}" 2>/dev/null || true
        wait "${pids[@]}" 2>/dev/null || true
    fi
    pids=()
}
trap 'stop; exit 130' INT TERM
trap stop EXIT

device_id() { echo "${1//_/-}"; }
start_ms=""
if [ "$fast" = 1 ]; then
    # The controlled clock starts now, or after the last fast rush if that ran ahead of now.
    start_ms=$(($(date +%s) * 1000))
    if [ -f "$dir/rush-truth.json" ]; then
        last=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["end_ms"])' "$dir/rush-truth.json" 2>/dev/null || echo 0)
        [ "$last" -ge "$start_ms" ] && start_ms=$((last + 60000))
    fi
fi

# A headless device: kitchen screen or order terminal, on the store's own broker.
headless_device() {
    local name=$1
    shift
    PASS_LOG="${PASS_LOG:-warn}" "$bin/pass" device run --device "$(device_id "$name")" \
        --store "$store" --db "$dir/$name.db" --mdns loopback --host-broker off \
        ${start_ms:+--manual-clock "$start_ms"} "$@" &
    pids+=($!)
    device_pid[$name]=$!
}
declare -A device_pid=()
if [ "$headless" = 1 ]; then
    # Without windows the store's broker runs on its own (the screens do not host it), so
    # screens can be stopped and photographed one at a time while the others keep the store up.
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    PASS_LOG="${PASS_LOG:-warn}" "$bin/pass" broker --store "$store" --listen "127.0.0.1:$port" \
        --mdns loopback --password-file "$dir/store.broker-password" &
    pids+=($!)
fi
for station in "${stations[@]}"; do
    if [ "$headless" = 1 ]; then
        headless_device "$station" --role kitchen-screen --station "$station"
        continue
    else
        PASS_LOG="${PASS_LOG:-warn}" "$bin/kds" --station "$station" --device "$(device_id "$station")" \
            --store "$store" --db "$dir/$station.db" --mdns loopback --window 1280x720 &
        pids+=($!)
    fi
done
if [ "$headless" = 1 ]; then
    headless_device front --role order-terminal
else
    PASS_LOG="${PASS_LOG:-warn}" "$bin/order-terminal" --device front --store "$store" \
        --db "$dir/front.db" --mdns loopback --window 1366x768 &
    pids+=($!)
fi
say "running: kitchen screens for ${stations[*]} and order terminal 'front'$([ "$headless" = 1 ] && echo ' (no windows)') — Ctrl-C stops them all"
if [ "$headless" = 0 ]; then
    say "sign in on the terminal with Sam's PIN 1357, tap a table, order, send: the kitchen screens show it"
fi
say "work a screen from another terminal: $bin/pass kitchen --control $dir/grill.sock list"

if [ "$rush" = 0 ]; then
    wait -n "${pids[@]}" || true
    exit 0
fi

# The rush needs every device up, and the store's menu and staff on the terminal.
say "waiting for every device to find the broker and the store"
ready=0
for _ in $(seq 1 120); do
    if "$bin/pass" terminal --control "$dir/front.sock" --pin 1357 tables >/dev/null 2>&1 &&
        for s in "${stations[@]}"; do "$bin/pass" kitchen --control "$dir/$s.sock" list >/dev/null 2>&1 || exit 1; done; then
        ready=1
        break
    fi
    sleep 1
done
[ "$ready" = 1 ] || { say "the devices did not come up within two minutes (PASS_LOG=info shows why)"; exit 1; }

rush_args=(rush --terminal "$dir/front.sock" --menu assets/menu.toml --minutes "$minutes"
    --checks-per-hour "$rate" --seed "$(date +%s)" --server-pin 1357 --server-pin 2468
    --manager-pin 2580 --eighty-six fish_and_chips --truth "$dir/rush-truth.json")
for s in "${stations[@]}"; do rush_args+=(--screen "$dir/$s.sock"); done
if [ "$fast" = 1 ]; then
    # Leave the last orders on the screens when they are to be photographed.
    rush_args+=(--controlled-from-ms "$start_ms" --drain-minutes "$([ -n "$shots" ] && echo 0 || echo 90)")
    say "dinner rush: $rate checks an hour for $minutes minutes on a controlled clock (as fast as the devices go)"
elif [ "$headless" = 1 ]; then
    # The chosen minutes are the whole run: tables still eating then keep their checks open.
    rush_args+=(--drain-minutes 0)
    say "dinner rush: $rate checks an hour for $minutes minutes, then the reports (tables still eating keep their checks open; --fast plays a whole service in minutes)"
else
    rush_args+=(--drain-minutes 20)
    say "dinner rush: $rate checks an hour for $minutes minutes, then served until every check is closed (20 minutes at most)"
fi

if [ "$headless" = 0 ]; then
    "$bin/pass" "${rush_args[@]}" &
    pids+=($!)
    wait -n "${pids[@]}" || true
    exit 0
fi

"$bin/pass" "${rush_args[@]}"
say "service times (kitchen screens) and sales (terminal), from the devices' own reports:"
"$bin/pass" report service-times --db "$dir/expo.db"
"$bin/pass" report sales --db "$dir/front.db"
if [ -z "$shots" ]; then
    exit 0
fi

# One process per screenshot: each device in turn is stopped and drawn once by its app on the
# same database, while the others keep the store up (so no screen shows itself cut off).
ensure_packages xvfb xauth mesa-vulkan-drivers libvulkan1
mkdir -p "$shots"
at=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["end_ms"])' "$dir/rush-truth.json")
stop_device() {
    kill -TERM "${device_pid[$1]}" 2>/dev/null || true
    wait "${device_pid[$1]}" 2>/dev/null || true
}
shot() {
    local app=$1 out=$2 name=$3
    shift 3
    stop_device "$name"
    say "rendering $name to $out"
    xvfb-run --auto-servernum --server-args "-screen 0 1920x1080x24" \
        env WGPU_BACKEND="${WGPU_BACKEND:-vulkan}" PASS_LOG="${PASS_LOG:-warn}" \
        "$bin/$app" --screenshot "$out" --store "$store" --mdns loopback --host-broker off \
        --manual-clock "$at" --device "$(device_id "$name")" --db "$dir/$name.db" \
        --window 1920x1080 "$@"
}
shot order-terminal "$shots/terminal.png" front
start_ms=$([ "$fast" = 1 ] && echo "$at" || true) headless_device front --role order-terminal
for station in "${stations[@]}"; do
    shot kds "$shots/kds-$station.png" "$station" --station "$station"
done
say "screenshots in $shots"
