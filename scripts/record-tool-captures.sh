#!/usr/bin/env bash
# Records tests-data/tools/*.pcap: real scanners (nmap, masscan, zmap, hping3)
# run against a small darknet built from two network namespaces, captured on
# the dark side with tcpdump. The captures are test fixtures for portwatch, so
# the interesting part is what each tool puts on the wire, not what answers.
#
# Usage (root): scripts/record-tool-captures.sh [OUTDIR]
# Needs: ip, tcpdump, ethtool, nmap, masscan, zmap, hping3, python3 (Debian:
# apt-get install -y iproute2 tcpdump ethtool nmap masscan zmap hping3 python3).
#
# Safety: every address used here lies in 198.18.0.0/15 (benchmarking, RFC
# 2544) or 2001:db8::/32 (documentation). The scanner namespace has no default
# route, only the link to the dark namespace, so no probe can leave this
# machine whatever a tool does; check_target refuses anything else anyway.
#
# Topology:
#   pw-scan: pw-s0 198.18.0.1/24, 2001:db8::1/64
#            routes 198.18.1.0/24 and 2001:db8:1::/64 via the dark side
#   pw-dark: pw-d0 198.18.0.2/24, 2001:db8::2/64
#            blackhole 198.18.1.0/24 and 2001:db8:1::/64 (silent: a darknet
#            sends nothing back), except 198.18.1.80 which is a live host
#            (on lo) during the nmap -sV capture only.
set -euo pipefail

SCAN=pw-scan
DARK=pw-dark
S_IF=pw-s0
D_IF=pw-d0
S_MAC=02:00:5e:12:00:01
D_MAC=02:00:5e:12:00:02
S_IP=198.18.0.1
D_IP=198.18.0.2
S_IP6=2001:db8::1
D_IP6=2001:db8::2
DARKNET=198.18.1.0/24
DARKNET6=2001:db8:1::/64
LIVE=198.18.1.80

[[ $EUID -eq 0 ]] || { echo "must run as root (network namespaces, raw sockets)" >&2; exit 1; }
for t in ip tcpdump ethtool nmap masscan zmap hping3 python3 capinfos; do
    command -v "$t" >/dev/null || { echo "missing tool: $t" >&2; exit 1; }
done

OUT=$(realpath -m "${1:-$(dirname "$0")/../tests-data/tools}")
mkdir -p "$OUT"
TMP=$(mktemp -d /tmp/pw-captures.XXXXXX)
CAP_PID=
LISTEN_PID=

cleanup() {
    set +e
    [[ -n $LISTEN_PID ]] && kill "$LISTEN_PID" 2>/dev/null && wait "$LISTEN_PID" 2>/dev/null
    [[ -n $CAP_PID ]] && kill "$CAP_PID" 2>/dev/null && wait "$CAP_PID" 2>/dev/null
    ip netns del "$SCAN" 2>/dev/null
    ip netns del "$DARK" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

in_scan() { ip netns exec "$SCAN" "$@"; }
in_dark() { ip netns exec "$DARK" "$@"; }

# Refuses a target outside the two test prefixes (belt and braces: the
# namespaces have no route anywhere else).
check_target() {
    case $1 in
        198.18.* | 198.19.* | 2001:db8:*) ;;
        *) echo "refusing target outside 198.18.0.0/15 and 2001:db8::/32: $1" >&2; exit 1 ;;
    esac
}

setup() {
    # Idempotent: a previous run that died leaves our namespaces behind.
    ip netns del "$SCAN" 2>/dev/null || true
    ip netns del "$DARK" 2>/dev/null || true
    ip netns add "$SCAN"
    ip netns add "$DARK"
    # No router solicitations or RAs: the captures should hold only what the
    # scanners sent (and the one live host's answers). Set before the veth
    # exists so it inherits the defaults.
    for ns in "$SCAN" "$DARK"; do
        ip -n "$ns" link set lo up
        ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.accept_ra=0 \
            net.ipv6.conf.default.router_solicitations=0
    done
    ip link add "$S_IF" netns "$SCAN" address "$S_MAC" type veth \
        peer name "$D_IF" netns "$DARK" address "$D_MAC"
    # Offloads off so the capture holds wire-sized packets with real checksums.
    in_scan ethtool -K "$S_IF" tx off tso off gso off gro off >/dev/null 2>&1 || true
    in_dark ethtool -K "$D_IF" tx off tso off gso off gro off >/dev/null 2>&1 || true

    ip -n "$SCAN" addr add "$S_IP/24" dev "$S_IF"
    ip -n "$SCAN" addr add "$S_IP6/64" dev "$S_IF" nodad
    ip -n "$DARK" addr add "$D_IP/24" dev "$D_IF"
    ip -n "$DARK" addr add "$D_IP6/64" dev "$D_IF" nodad
    ip -n "$SCAN" link set "$S_IF" up
    ip -n "$DARK" link set "$D_IF" up
    # Static neighbours: no ARP/NDP chatter in the captures, and the raw
    # senders find the gateway MAC in the cache.
    ip -n "$SCAN" neigh replace "$D_IP" lladdr "$D_MAC" dev "$S_IF" nud permanent
    ip -n "$SCAN" neigh replace "$D_IP6" lladdr "$D_MAC" dev "$S_IF" nud permanent
    ip -n "$DARK" neigh replace "$S_IP" lladdr "$S_MAC" dev "$D_IF" nud permanent
    ip -n "$DARK" neigh replace "$S_IP6" lladdr "$S_MAC" dev "$D_IF" nud permanent
    ip -n "$SCAN" route add "$DARKNET" via "$D_IP"
    ip -n "$SCAN" -6 route add "$DARKNET6" via "$D_IP6"
    ip -n "$DARK" route add blackhole "$DARKNET"
    ip -n "$DARK" -6 route add blackhole "$DARKNET6"
    # The guarantee that nothing leaves: no default route on either side.
    for ns in "$SCAN" "$DARK"; do
        if [[ -n $(ip -n "$ns" route show default) || -n $(ip -n "$ns" -6 route show default) ]]; then
            echo "$ns has a default route; refusing to scan" >&2
            exit 1
        fi
    done
    # Let link-up chatter (MLD reports, router solicitations) die down
    # before the first capture starts.
    sleep 4
}

# capture NAME OK_CODES CMD...: runs CMD in the scanner namespace (from TMP)
# while tcpdump records the dark side into OUT/NAME.pcap. OK_CODES lists the
# exit codes that mean the tool did its job (hping3 exits 1 when nothing
# answered, which is the point of a darknet; timeout exits 124).
capture() {
    local name=$1 ok=$2
    shift 2
    local pcap="$TMP/$name.pcap" log="$TMP/$name.tcpdump.log"
    # Started directly (not through a function) so $! is tcpdump itself;
    # stopped with SIGTERM because background jobs start with SIGINT ignored.
    ip netns exec "$DARK" tcpdump -i "$D_IF" -n -U -s 0 -Z root -w "$pcap" 2>"$log" &
    CAP_PID=$!
    for _ in $(seq 100); do
        grep -q 'listening on' "$log" 2>/dev/null && break
        sleep 0.1
    done
    grep -q 'listening on' "$log" || { cat "$log" >&2; exit 1; }
    echo "== $name: $*" >&2
    local rc=0
    (cd "$TMP" && in_scan "$@") >"$TMP/$name.out" 2>&1 || rc=$?
    if [[ ",$ok," != *",$rc,"* ]]; then
        cat "$TMP/$name.out" >&2
        echo "$name: exit code $rc" >&2
        exit 1
    fi
    sleep 1
    kill "$CAP_PID"
    wait "$CAP_PID" || true
    CAP_PID=
    cp "$pcap" "$OUT/$name.pcap"
    capinfos -c -M "$OUT/$name.pcap" | sed -n 's/^Number of packets: *//p' |
        xargs printf '   %s packets\n' >&2
}

setup

for t in "$DARKNET" "$DARKNET6" "$LIVE"; do check_target "$t"; done

# nmap SYN scan of 16 dark hosts, four ports including 0.
capture nmap-syn 0 nmap -n -Pn -sS -p 0,445,5168,12345 --min-rate 500 --max-retries 1 \
    198.18.1.0/28

# nmap decoy scan: every probe also sent "from" three decoys, spoofed
# (inside the test prefix like everything else).
capture nmap-decoy 0 nmap -n -Pn -sS -p 5168 --max-retries 0 \
    -D 198.18.0.20,198.18.0.21,ME,198.18.0.22 198.18.1.16/29

# nmap IPv6 SYN scan, same ports, 8 hosts.
capture nmap-syn6 0 nmap -6 -n -Pn -sS -p 0,445,5168,12345 --min-rate 500 --max-retries 1 \
    2001:db8:1::1 2001:db8:1::2 2001:db8:1::3 2001:db8:1::4 \
    2001:db8:1::5 2001:db8:1::6 2001:db8:1::7 2001:db8:1::8

# nmap -sV against one live host with a tiny HTTP server on 80 (5168 closed:
# the dark side answers RST there, the rest of the darknet stays silent).
ip -n "$DARK" addr add "$LIVE/32" dev lo
mkdir -p "$TMP/www"
ip netns exec "$DARK" python3 -m http.server --bind "$LIVE" --directory "$TMP/www" 80 \
    >"$TMP/http.log" 2>&1 &
LISTEN_PID=$!
for _ in $(seq 50); do
    in_dark ss -Hltn "src $LIVE:80" | grep -q . && break
    sleep 0.1
done
capture nmap-sv 0 nmap -n -Pn -sS -sV --version-light -p 80,5168 "$LIVE"
kill "$LISTEN_PID"
wait "$LISTEN_PID" 2>/dev/null || true
LISTEN_PID=
ip -n "$DARK" addr del "$LIVE/32" dev lo

# masscan over the /24, three ports, 768 SYNs at 1000/s, from four source
# addresses (masscan spreads probes over an --adapter-ip range).
# masscan 1.3.2 keeps waiting when nothing answers, and lingers ~10 s after
# SIGINT: SIGINT it once it has had time to send everything, SIGKILL it if it
# still lingers (capture runs it from TMP, where it writes paused.conf).
capture masscan 0,124,137 timeout -s INT -k 15 4 masscan 198.18.1.0/24 -p445,5168,12345 --rate 1000 \
    --interface "$S_IF" --adapter-ip 198.18.0.100-198.18.0.103 --adapter-mac "$S_MAC" --router-mac "$D_MAC" \
    --wait 1

# zmap: its default blocklist covers 198.18.0.0/15, so an empty one and an
# allowlist of the darknet only. The TCP scan uses 32 source addresses (zmap
# picks one per target), the UDP port 0 scan one.
: >"$TMP/zmap-blocklist"
echo "$DARKNET" >"$TMP/zmap-allowlist"
capture zmap 0 zmap -p 5168 -i "$S_IF" -S 198.18.0.32-198.18.0.63 --source-mac "$S_MAC" -G "$D_MAC" \
    -b "$TMP/zmap-blocklist" -w "$TMP/zmap-allowlist" -n 256 -r 500 -c 1 \
    --disable-syslog -q -o /dev/null
capture zmap-udp0 0 zmap -M udp -p 0 -i "$S_IF" -S "$S_IP" --source-mac "$S_MAC" -G "$D_MAC" \
    -b "$TMP/zmap-blocklist" -w "$TMP/zmap-allowlist" -n 256 -r 500 -c 1 \
    --disable-syslog -q -o /dev/null

# hping3: one source hammering one port, UDP to port 0, ICMP echo.
capture hping3-syn 0,1 hping3 -n -I "$S_IF" -S -p 5168 -c 200 -i u1000 198.18.1.10
capture hping3-udp0 0,1 hping3 -n -I "$S_IF" -2 -p 0 -c 50 -i u10000 198.18.1.10
capture hping3-icmp 0,1 hping3 -n -I "$S_IF" -1 -c 20 -i u10000 198.18.1.10

ls -l "$OUT"/*.pcap >&2
