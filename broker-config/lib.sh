# Shared by the broker-config scripts: messages, argument checks, and file ownership for a
# Mosquitto that starts as root and drops to its own user.
# shellcheck shell=bash

# The user Mosquitto drops to (Debian's package creates it); its group owns the configuration
# folder so the broker can reach its files after the drop.
BROKER_USER="${PASS_MOSQUITTO_USER:-mosquitto}"

say() { printf 'broker-config: %s\n' "$*" >&2; }
die() {
    printf 'broker-config: error: %s\n' "$*" >&2
    exit 1
}

need_cmd() {
    command -v "$1" >/dev/null 2>&1 || die "$1 is not installed ($2)"
}

is_root() { [ "$(id -u)" = 0 ]; }

# The ids Pass uses for stores and devices: 1 to 32 of a-z, 0-9 and -.
check_id() {
    local what=$1 value=$2
    [[ "$value" =~ ^[a-z0-9-]{1,32}$ ]] ||
        die "$what '$value' must be 1 to 32 characters of a-z, 0-9 and -"
}

# Takes the value of option $1 from "$2" (the next argument), refusing a missing one.
need_value() {
    [ -n "${2-}" ] && [ "${2:0:2}" != "--" ] || die "$1 needs a value"
}

# broker_reads FILE: FILE is read by Mosquitto after it drops privileges. Owned by the broker's
# user, readable by nobody else (Mosquitto 2.0.16 and later warn about a password or ACL file
# with another owner or readable by others, and say future versions will refuse it). Run as an
# ordinary user (a test, a developer's broker), the file stays that user's: Mosquitto then runs
# as that user too.
broker_reads() {
    chmod 0600 "$1"
    if is_root; then
        chown "$BROKER_USER:$BROKER_USER" "$1"
    fi
}

# broker_dir DIR: a folder Mosquitto must traverse after the drop: root's, the broker's group may
# enter and list it, nobody else may.
broker_dir() {
    mkdir -p "$1"
    chmod 0750 "$1"
    if is_root; then
        chown "root:$BROKER_USER" "$1"
    fi
}

# private_dir DIR: a folder only its owner (root on a store) may enter: keys and passwords that
# the broker never reads.
private_dir() {
    mkdir -p "$1"
    chmod 0700 "$1"
}

# check_broker_user: as root, the broker's user must exist for the files to be given to it.
check_broker_user() {
    if is_root && ! id "$BROKER_USER" >/dev/null 2>&1; then
        die "user '$BROKER_USER' does not exist: install Mosquitto first (apt-get install mosquitto), or set PASS_MOSQUITTO_USER to the user it runs as"
    fi
}

# with_lock DIR COMMAND...: runs COMMAND holding DIR/.lock, so two changes never interleave.
with_lock() {
    local dir=$1
    shift
    need_cmd flock "util-linux"
    exec 9>"$dir/.lock"
    flock 9
    "$@"
}
