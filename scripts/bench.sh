#!/usr/bin/env bash
# Prints Pass's performance figures, each beside a baseline measured in the same run.
# Benchmarks are measured here, never asserted in tests: machines are shared and noisy.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$PASS_ROOT"
ensure_build_deps
ensure_packages mosquitto mosquitto-clients

say "journal append rate against raw rusqlite (cargo bench -p pass-shared --bench journal)"
cargo bench --quiet -p pass-shared --bench journal
if [ -f tests/benches/replication.rs ]; then
    say "replication over a real Mosquitto (release devices)"
    cargo build --quiet --release -p pass-shared --bin pass
    cargo bench --quiet -p pass-tests --bench replication
    say "order terminal: send of a ten-line order to committed and published (release device)"
    cargo bench --quiet -p pass-tests --bench terminal
    say "start to connected for an unconfigured device: mDNS on loopback (release devices)"
    cargo bench --quiet -p pass-tests --bench discovery
    say "86 at zero on every device across processes (release devices)"
    cargo bench --quiet -p pass-tests --bench stock_86
fi
say "manager's reports over a year of tickets, and pass journal verify over a million events"
cargo bench --quiet -p pass-shared --bench reports
cargo bench --quiet -p pass-shared --bench verify
say "kitchen screen frame time, restore time and memory with 300 tickets (release, Xvfb + software Vulkan)"
ensure_packages xvfb xauth mesa-vulkan-drivers libvulkan1
cargo build --quiet --release -p kds
cargo bench --quiet -p kds --bench frame
say "order terminal frame time on the ordering screen (release, Xvfb + software Vulkan)"
cargo build --quiet --release -p order-terminal
cargo bench --quiet -p order-terminal --bench frame
