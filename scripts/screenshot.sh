#!/usr/bin/env bash
# Render one Pass app under a virtual X server and save a PNG of its window.
#
#   scripts/screenshot.sh APP OUT.png [app arguments...]
#   scripts/screenshot.sh kds /tmp/kds.png --station grill
#   scripts/screenshot.sh order-terminal /tmp/order-terminal.png
#
# Needs xvfb (xvfb-run), xauth and a Vulkan driver (mesa-vulkan-drivers gives lavapipe, a CPU
# implementation). wgpu's GL backend does not work under Xvfb, so Vulkan is forced.
# Builds the app first unless PASS_NO_BUILD=1. CARGO_TARGET_DIR is honoured.
set -euo pipefail

usage() {
    echo "usage: $0 APP OUT.png [app arguments...]   (APP: kds or order-terminal)" >&2
    exit 2
}

[[ $# -ge 2 ]] || usage
app=$1
out=$2
shift 2
case "$app" in
    kds | order-terminal) ;;
    *) usage ;;
esac

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
target_dir=${CARGO_TARGET_DIR:-$HOME/.cache/pass-target}
export CARGO_TARGET_DIR="$target_dir"
if [[ ${PASS_NO_BUILD:-0} != 1 ]]; then
    # The test feature set (all targets), as scripts/test.sh builds it, so Bevy is built once.
    (cd "$root" && cargo build --workspace --all-targets)
fi

exec xvfb-run --auto-servernum --server-args "-screen 0 1920x1080x24" \
    env WGPU_BACKEND="${WGPU_BACKEND:-vulkan}" \
    "$target_dir/debug/$app" --screenshot "$out" "$@"
