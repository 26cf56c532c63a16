# Shared by the README's two commands: installs what is missing, says what it does.
# shellcheck shell=bash

PASS_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/pass-target}"
RUST_VERSION="1.95"

say() { printf '\033[1mpass:\033[0m %s\n' "$*" >&2; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"
    elif command -v sudo >/dev/null 2>&1; then sudo "$@"
    else say "need root to run: $* (install sudo or run as root)"; return 1
    fi
}

# ensure_packages PKG... : installs the Debian packages that are not installed yet.
ensure_packages() {
    local missing=()
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if ! command -v apt-get >/dev/null 2>&1; then
        say "missing system packages: ${missing[*]} — this script expects Debian or Ubuntu (apt-get)"
        return 1
    fi
    say "installing missing system packages: ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Build tools and the C libraries the crates link against (ALSA for kitchen sounds).
BUILD_PACKAGES=(ca-certificates curl build-essential pkg-config libasound2-dev)
# What the tests drive: a real Mosquitto, an X server with software Vulkan for screenshots, OCR.
TEST_PACKAGES=(mosquitto mosquitto-clients xvfb xauth mesa-vulkan-drivers libvulkan1 tesseract-ocr iproute2 openssl python3 python3-venv)
# Python tools the tests use as independent observers: zeroconf (lists what mDNS advertises) and
# jsonschema (checks event bodies against the AsyncAPI document's schemas), pillow (samples
# screenshot pixels).
PASS_VENV="${PASS_VENV:-$HOME/.cache/pass-venv}"
export PASS_PYTHON="$PASS_VENV/bin/python"
PYTHON_TOOLS=(zeroconf jsonschema pillow)

ensure_rust() {
    if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
        export PATH="$HOME/.cargo/bin:$PATH"
    fi
    if ! command -v cargo >/dev/null 2>&1; then
        say "installing the Rust toolchain $RUST_VERSION with rustup"
        curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal \
            --default-toolchain "$RUST_VERSION" -c rustfmt -c clippy
        export PATH="$HOME/.cargo/bin:$PATH"
    fi
}

# ensure_python_tools: a virtual environment under ~/.cache with the PYTHON_TOOLS, made once.
ensure_python_tools() {
    if [ -x "$PASS_PYTHON" ] && "$PASS_PYTHON" -c "import zeroconf, jsonschema, PIL" 2>/dev/null; then
        return 0
    fi
    say "installing python test tools (${PYTHON_TOOLS[*]}) into $PASS_VENV"
    python3 -m venv "$PASS_VENV"
    "$PASS_VENV/bin/pip" install --quiet --disable-pip-version-check "${PYTHON_TOOLS[@]}"
}

ensure_build_deps() {
    ensure_packages "${BUILD_PACKAGES[@]}"
    ensure_rust
    mkdir -p "$CARGO_TARGET_DIR"
    claim_target_dir
}

# Several checkouts (a clone, CI's clean clone) share one target directory so Bevy is built once.
# Cargo decides whether our own crates are up to date by comparing their sources' times with
# what it built last, whichever checkout that came from: a checkout whose files are older than
# another checkout's last build would be handed that build. So when the target directory was
# last used by another checkout, this one's files are touched and our crates rebuilt from them.
claim_target_dir() {
    local mark="$CARGO_TARGET_DIR/.pass-checkout"
    if [ "$(cat "$mark" 2>/dev/null || true)" != "$PASS_ROOT" ]; then
        if git -C "$PASS_ROOT" rev-parse --git-dir >/dev/null 2>&1; then
            (cd "$PASS_ROOT" && git ls-files -z --cached --others --exclude-standard | xargs -0 -r touch -c --)
        else
            find "$PASS_ROOT" -path "$PASS_ROOT/target" -prune -o -type f -exec touch -c {} +
        fi
        printf '%s\n' "$PASS_ROOT" >"$mark"
    fi
}
