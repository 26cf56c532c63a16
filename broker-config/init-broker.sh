#!/usr/bin/env bash
# Prepares a store broker's folder (normally /etc/mosquitto/pass, what store.conf reads): the
# broker's certificate from the store CA, an empty password file and ACL, and the folders the
# other scripts fill. Run as root on the broker's machine, once; running it again keeps users,
# passwords and ACL entries and reissues the broker's certificate only with --renew-cert.
#
#   init-broker.sh --dir CONF_DIR --store STORE --ca CA_DIR --host HOST [--host HOST...] [--renew-cert]
#
# HOST: every name and address devices use to reach the broker (for the TLS listener's
# certificate), e.g. --host kitchen-broker.local --host 192.168.1.10.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"

usage() {
    sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

dir="" store="" ca="" renew=false
hosts=()
while [ $# -gt 0 ]; do
    case "$1" in
    --dir) need_value "$1" "${2-}"; dir=$2; shift 2 ;;
    --store) need_value "$1" "${2-}"; store=$2; shift 2 ;;
    --ca) need_value "$1" "${2-}"; ca=$2; shift 2 ;;
    --host) need_value "$1" "${2-}"; hosts+=("$2"); shift 2 ;;
    --renew-cert) renew=true; shift ;;
    -h | --help) usage ;;
    *) die "unknown argument '$1' (try --help)" ;;
    esac
done
[ -n "$dir" ] || die "--dir CONF_DIR is required"
[ -n "$store" ] || die "--store STORE is required"
[ -n "$ca" ] || die "--ca CA_DIR is required"
[ ${#hosts[@]} -gt 0 ] || die "at least one --host is required (the broker's name or address)"
check_id "store" "$store"
check_broker_user

if [ -f "$dir/store" ] && [ "$(cat "$dir/store")" != "$store" ]; then
    die "$dir is set up for store '$(cat "$dir/store")', not '$store'"
fi

broker_dir "$dir"
broker_dir "$dir/conf.d"
private_dir "$dir/acl.d"
private_dir "$dir/clients"
printf '%s\n' "$store" >"$dir/store"
chmod 0644 "$dir/store"

if [ ! -f "$dir/server.crt" ] || $renew; then
    "$here/make-cert.sh" --ca "$ca" --out "$dir" server "${hosts[@]}"
else
    say "keeping the broker's certificate $dir/server.crt (--renew-cert to reissue it)"
fi

if [ ! -f "$dir/passwd" ]; then
    : >"$dir/passwd"
fi
broker_reads "$dir/passwd"
"$here/broker-user.sh" --dir "$dir" rebuild
say "the broker folder $dir is ready for store $store; add devices with broker-user.sh"
