#!/usr/bin/env bash
# Makes a store's certificate authority: a private key and a self-signed certificate that signs
# the broker's certificate and one certificate per device or client (make-cert.sh). The broker's
# TLS listener accepts only clients whose certificate this CA signed.
#
#   make-ca.sh --dir CA_DIR --store STORE [--days DAYS]
#
# CA_DIR (created, 0700) receives ca.key (0600: keep it off the broker if you can, e.g. on a USB
# stick in the office safe; it is only needed to issue certificates) and ca.crt (public).
# Refuses to overwrite an existing CA: every certificate it signed would stop working.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"

usage() {
    sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

dir="" store="" days=3650
while [ $# -gt 0 ]; do
    case "$1" in
    --dir) need_value "$1" "${2-}"; dir=$2; shift 2 ;;
    --store) need_value "$1" "${2-}"; store=$2; shift 2 ;;
    --days) need_value "$1" "${2-}"; days=$2; shift 2 ;;
    -h | --help) usage ;;
    *) die "unknown argument '$1' (try --help)" ;;
    esac
done
[ -n "$dir" ] || die "--dir CA_DIR is required"
[ -n "$store" ] || die "--store STORE is required"
check_id "store" "$store"
[[ "$days" =~ ^[0-9]{1,5}$ ]] && [ "$days" -ge 1 ] || die "--days must be a number of days"
need_cmd openssl "apt-get install openssl"

if [ -e "$dir/ca.key" ] || [ -e "$dir/ca.crt" ]; then
    die "$dir already holds a CA; remove it first if you really mean to replace it (every certificate it signed stops working)"
fi
private_dir "$dir"
umask 077

openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$dir/ca.key" -out "$dir/ca.crt" -days "$days" \
    -subj "/O=Pass/OU=store $store/CN=Pass store $store CA" \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -addext "subjectKeyIdentifier=hash" 2>/dev/null ||
    die "openssl could not make the CA in $dir"
chmod 0600 "$dir/ca.key"
chmod 0644 "$dir/ca.crt"
say "made the CA of store $store in $dir (ca.key private, ca.crt public, valid $days days)"
