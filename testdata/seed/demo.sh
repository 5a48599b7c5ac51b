#!/usr/bin/env bash
# make demo: the seed example (README.md beside this script) with the
# installed carpctl, pfsyncctl and pfconf.
#
# It builds the two firewalls of the pfsync(4) example as network
# namespaces joined by three links (sis0, sis1, sis2), configures them from
# the seed's files, shows what each firewall reports, and removes
# everything it created on exit. It touches nothing outside its own
# namespaces and its own run directories.
set -euo pipefail
seed=$(cd "$(dirname "$0")" && pwd)
for c in carpctl pfsyncctl pfconf ip; do
	command -v "$c" >/dev/null || { echo "demo: $c not found (run make install)" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "demo: run as root (it creates network namespaces)" >&2; exit 1; }

p=cfdemo$$
fw1=$p-fw1 fw2=$p-fw2
run1() { ip netns exec "$fw1" "$@"; }
run2() { ip netns exec "$fw2" "$@"; }
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

cleanup() {
	for ns in "$fw1" "$fw2"; do
		ip netns exec "$ns" carpctl carp0 destroy 2>/dev/null || true
		ip netns exec "$ns" carpctl carp1 destroy 2>/dev/null || true
		ip netns exec "$ns" pfsyncctl pfsync0 destroy 2>/dev/null || true
		ip netns del "$ns" 2>/dev/null || true
		rm -rf "/run/carpfw/netns-$ns"
	done
}
trap cleanup EXIT

say "pf.conf: pfconf -nv -f pf.conf (the seed's rules, normalised as pfctl -nv prints them)"
cat "$seed/pf.conf"
echo "--"
if out=$(pfconf -nv -f "$seed/pf.conf"); then
	echo "$out"
	if [ "$out" = "$(cat "$seed/pf.conf.out")" ]; then echo "(identical to OpenBSD's pfctl -nv output)"; fi
else
	echo "(pfconf could not parse it yet)"
fi

say "two firewalls as network namespaces: $fw1, $fw2"
ip netns add "$fw1"
ip netns add "$fw2"
i=0
for pair in "sis0 10.0.0" "sis1 192.168.0" "sis2 10.99.0"; do
	set -- $pair
	ip -n "$fw1" link add "$1" type veth peer name "$1" netns "$fw2"
	ip -n "$fw1" addr add "$2.2/24" dev "$1"
	ip -n "$fw2" addr add "$2.3/24" dev "$1"
	ip -n "$fw1" link set "$1" up
	ip -n "$fw2" link set "$1" up
done
ip -n "$fw1" -br addr show

say "hostname.carp0, hostname.carp1, hostname.pfsync0"
head "$seed"/hostname.*

say "what netstart would run on each firewall: carpctl netstart -n; pfsyncctl netstart -n"
run1 carpctl netstart -n --dir "$seed"
run1 pfsyncctl netstart -n --dir "$seed"

say "apply the files verbatim on both firewalls; fw2 is the backup (advskew 100, set first), and both preempt as pfsync(4) advises"
for fw in 1 2; do
	r=run$fw
	set -x
	$r carpctl sysctl net.inet.carp.preempt=1
	[ $fw = 2 ] && $r carpctl carp0 advskew 100 && $r carpctl carp1 advskew 100
	$r carpctl netstart --dir "$seed"
	$r pfsyncctl netstart --dir "$seed"
	{ set +x; } 2>/dev/null
done

wait_state() { # wait_state fw ifname STATE: poll carpctl for at most 10 s
	local r=run$1 n
	for n in $(seq 100); do
		$r carpctl "$2" | grep -q "carp: $3 " && return 0
		sleep 0.1
	done
	echo "demo: $2 on fw$1 did not become $3" >&2
	return 1
}

say "election: fw1 (advskew 0) becomes MASTER, fw2 (advskew 100) BACKUP, within 3 intervals"
wait_state 1 carp0 MASTER && wait_state 1 carp1 MASTER
wait_state 2 carp0 BACKUP && wait_state 2 carp1 BACKUP
echo "-- ip netns exec $fw1 carpctl -a"
run1 carpctl -a
echo "-- ip netns exec $fw2 carpctl carp0"
run2 carpctl carp0
echo "-- the virtual addresses are on the MASTER's macvlans only:"
ip -n "$fw1" -br addr show type macvlan
ip -n "$fw2" -br addr show type macvlan

say "pfsyncctl pfsync0 on $fw1"
run1 pfsyncctl pfsync0

say "group demotion: carpctl -g carp carpdemote 50 on $fw1 moves both addresses to $fw2 at once"
run1 carpctl -g carp carpdemote 50
run1 carpctl -g carp
wait_state 2 carp0 MASTER && wait_state 2 carp1 MASTER
run2 carpctl -a | grep 'carp:'
echo "-- $fw2, another host, has its own counter:"
run2 carpctl -g carp
run1 carpctl -g carp -carpdemote 50

say "the demotion is lifted: $fw1, faster and preempting, takes both back"
wait_state 1 carp0 MASTER && wait_state 1 carp1 MASTER
run1 carpctl -a | grep 'carp:'

say "$fw1 goes down (carpctl carp0 down): it bows out and $fw2 takes over at once, not after 3 intervals"
run1 carpctl carp0 down
wait_state 2 carp0 MASTER
run2 carpctl carp0 | grep 'carp:'

say "counters (carpctl stats, like netstat -s -p carp) on $fw1"
run1 carpctl stats

say "the workers' log on $fw1 (state transitions in OpenBSD's words)"
cat /run/carpfw/netns-"$fw1"/carp0.log
