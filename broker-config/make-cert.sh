#!/usr/bin/env bash
# Issues a certificate signed by a store's CA (make-ca.sh): the broker's own, or one per device
# or client for the TLS listener.
#
#   make-cert.sh --ca CA_DIR --out DIR server HOST [HOST...]   the broker: server.crt, server.key
#   make-cert.sh --ca CA_DIR --out DIR client NAME             a client: NAME.crt, NAME.key
#
# HOST is every name or address clients use to reach the broker (kitchen-broker.local,
# 192.168.1.10): a client checks the broker's certificate against the name it connected to.
# NAME is the client's broker user name: the device id (grill) or integration-<name>. The TLS
# listener takes the certificate's common name as the user, so the ACL entry of that name
# applies; a certificate whose name has no ACL entry is allowed nothing.
# DIR also receives ca.crt (to check the other side with). The server key is given to the
# broker's user (Mosquitto reads it after dropping root); a client key stays the caller's (0600)
# unless --broker-key says the broker itself is the client (a bridge to the head office).
# Options: --days N (default 825), --broker-key.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"

usage() {
    sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

ca="" out="" days=825 broker_key=false
while [ $# -gt 0 ]; do
    case "$1" in
    --ca) need_value "$1" "${2-}"; ca=$2; shift 2 ;;
    --out) need_value "$1" "${2-}"; out=$2; shift 2 ;;
    --days) need_value "$1" "${2-}"; days=$2; shift 2 ;;
    --broker-key) broker_key=true; shift ;;
    -h | --help) usage ;;
    --*) die "unknown option '$1' (try --help)" ;;
    *) break ;;
    esac
done
[ -n "$ca" ] || die "--ca CA_DIR is required"
[ -n "$out" ] || die "--out DIR is required"
[ -r "$ca/ca.key" ] && [ -r "$ca/ca.crt" ] || die "$ca holds no CA (ca.key and ca.crt): run make-ca.sh first"
[[ "$days" =~ ^[0-9]{1,5}$ ]] && [ "$days" -ge 1 ] || die "--days must be a number of days"
[ $# -ge 2 ] || usage
kind=$1
shift
need_cmd openssl "apt-get install openssl"

# A host is a DNS name or an IPv4/IPv6 address; anything else would make a certificate that no
# client accepts.
san_of() {
    local host=$1
    if [[ "$host" =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ ]] || [[ "$host" =~ ^[0-9a-fA-F:]+:[0-9a-fA-F:]*$ ]]; then
        printf 'IP:%s' "$host"
    elif [[ "$host" =~ ^[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*$ ]]; then
        printf 'DNS:%s' "$host"
    else
        die "'$host' is neither a host name nor an IP address"
    fi
}

case "$kind" in
server)
    name=server
    cn=$1
    sans=()
    for host in "$@"; do sans+=("$(san_of "$host")"); done
    ext="basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=$(IFS=,; echo "${sans[*]}")"
    ;;
client)
    [ $# -eq 1 ] || die "client takes one NAME"
    name=$1
    [[ "$name" =~ ^(integration-)?[a-z0-9-]{1,32}$ ]] ||
        die "client name '$name' must be a device id or integration-<name> (a-z, 0-9 and -)"
    cn=$name
    ext="basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth"
    ;;
*) die "unknown kind '$kind': server or client" ;;
esac

if [ "$kind" = server ]; then broker_key=true; fi
if $broker_key; then check_broker_user; fi
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
umask 077
printf '%s\n' "$ext" >"$work/ext.cnf"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$work/key" -out "$work/csr" -subj "/O=Pass/CN=$cn" 2>/dev/null ||
    die "openssl could not make a key for $cn"
openssl x509 -req -in "$work/csr" -CA "$ca/ca.crt" -CAkey "$ca/ca.key" \
    -set_serial "0x$(openssl rand -hex 16)" -days "$days" -extfile "$work/ext.cnf" \
    -out "$work/crt" 2>/dev/null || die "openssl could not sign the certificate of $cn"

install -m 0644 "$work/crt" "$out/$name.crt"
install -m 0600 "$work/key" "$out/$name.key"
install -m 0644 "$ca/ca.crt" "$out/ca.crt"
if $broker_key; then
    broker_reads "$out/$name.key"
fi
say "issued $out/$name.crt and $out/$name.key for $cn (valid $days days), with $out/ca.crt"
