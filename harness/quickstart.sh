#!/bin/sh
# quickstart.sh DIR [start|status|stop|kill-host H|restart-host H|kill-manager M|restart-manager M]
# quickstart.sh DIR --managers N
# quickstart.sh DIR --example promotable
#
# A real 3-host Basalt cluster on this machine, in DIR. Agents listen on
# 127.0.0.1 ports (PORT_BASE, default 17101, and the next two), run the
# repository's state-file agent and are fenced by the PID fence agent;
# certificates come from basalt certs init. BIN names the directory of the
# binaries (default: the repository's bin/, built with make when absent).
#
#   start            (the default) create the cluster in DIR if it is not
#                    there yet, and start every daemon that is not running
#   status           which daemons run, then basalt status
#   stop             stop the manager and the agents (SIGTERM, by PID file)
#   kill-host H      kill -9 host H's agent: to the cluster, H has crashed
#   restart-host H   start host H's agent again: H is back, as after a reboot
#   --managers N     start (creating the cluster) with N manager replicas,
#                    m1..mN, on an etcd of its own on loopback (PORT_BASE+10
#                    and +11), instead of one manager; each has its pid file,
#                    admin socket and log in DIR/managers/ (<name>.pid,
#                    <name>.sock, <name>.log), and BASALT_SOCKET lists every
#                    socket so that basalt talks to whichever leads. Given
#                    once, at creation: later commands find the replicas.
#   kill-manager M   kill -9 replica M (the leader, say): a standby takes over
#   restart-manager M  start replica M again: it stands by
#   --example promotable  start (creating the cluster) with a promotable
#                    clone of Debian's unmodified ocf:pacemaker:Stateful
#                    (resource db, group db-clone) on h1-h3 instead of the
#                    demo group: one instance promoted, the others
#                    unpromoted. Each host's state file is
#                    DIR/hosts/<host>/varrun/Stateful-db.state ("Promoted"
#                    or "Unpromoted"); kill-host of the promoted host, and
#                    another is promoted once it is fenced. Needs Debian's
#                    pacemaker-resource-agents (make deps). Given once, at
#                    creation, like --managers.
#
# Every host's files are under DIR/hosts/<host>/: agent.pid, power and
# fence.log (the PID fence agent's), resources/ (HA_RSCTMP) and varrun/
# (HA_VARRUN), both emptied by a fence as a power-off empties RAM.
set -eu
usage="usage: harness/quickstart.sh DIR [start|status|stop|kill-host H|restart-host H|kill-manager M|restart-manager M] | DIR --managers N | DIR --example promotable"
dir=${1:?$usage}
cmd=${2:-start}
replicas=0
example=""
case $cmd in
--managers)
	replicas=${3:?--managers needs a number}
	case $replicas in '' | *[!0-9]*) echo "quickstart.sh: --managers $replicas: want a number of managers" >&2; exit 2 ;; esac
	[ "$replicas" -ge 1 ] || { echo "quickstart.sh: --managers needs at least 1" >&2; exit 2; }
	cmd=start
	;;
--example)
	example=${3:?--example needs a name (promotable)}
	[ "$example" = promotable ] || { echo "quickstart.sh: --example $example: the examples are: promotable" >&2; exit 2; }
	cmd=start
	;;
esac
repo=$(cd "$(dirname "$0")/.." && pwd)
bin=${BIN:-$repo/bin}
base=${PORT_BASE:-17101}
hosts="h1 h2 h3"

die() { echo "quickstart.sh: $*" >&2; exit 2; }

# running PIDFILE: its process is alive. A process killed a moment ago
# may linger as a zombie until its parent reaps it, and kill -0 still
# succeeds on one: its state in /proc says Z.
running() {
	[ -f "$1" ] || return 1
	p=$(cat "$1")
	kill -0 "$p" 2>/dev/null || return 1
	st=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | cut -d' ' -f1)
	[ "$st" != Z ]
}

# port H: host H's agent port.
port() { echo $((base + ${1#h} - 1)); }

# debian_ocf: where Debian's resource-agents packages put the OCF agents.
debian_ocf=/usr/lib/ocf

# ocf_root: the agents' OCF root: the repository's test agents, or
# Debian's for the promotable example (recorded in DIR/example).
ocf_root() {
	if [ -f "$dir/example" ]; then echo "$debian_ocf"; else echo "$repo/agents/ocf"; fi
}

check_host() {
	case " $hosts " in *" $1 "*) ;; *) die "no host \"$1\" (hosts: $hosts)" ;; esac
}

# resources_yaml: the example's resources and groups, or the demo group.
resources_yaml() {
	if [ "$example" = promotable ]; then
		cat <<YAML
resources:
  - id: db
    name: demo database (Debian's Stateful)
    agent: "ocf:pacemaker:Stateful"
    ops: {monitor: [{interval: 2s, role: unpromoted}, {interval: 1500ms, role: promoted}]}
groups:
  - {id: db-clone, name: demo promotable clone, members: [{resource: db}], placement: {promotable: true}}
YAML
		return
	fi
	cat <<YAML
resources:
  - {id: pool, name: demo pool, agent: "ocf:basalt:statefile", ops: {monitor: [{interval: 2s}]}}
  - {id: fs, name: demo file system, agent: "ocf:basalt:statefile", ops: {monitor: [{interval: 2s}]}}
  - {id: web, name: demo web server, agent: "ocf:basalt:statefile", ops: {monitor: [{interval: 2s}]}}
groups:
  - id: demo
    name: demo service
    members: [{resource: pool}, {resource: fs, parent: pool}, {resource: web, parent: fs}]
    placement: {domain: {hosts: [{host: h1}, {host: h2}, {host: h3}]}}
YAML
}

create() {
	[ -x "$bin/basalt-manager" ] || (cd "$repo" && make build)
	if [ "$example" = promotable ]; then
		[ -x "$debian_ocf/resource.d/pacemaker/Stateful" ] ||
			die "--example promotable runs Debian's ocf:pacemaker:Stateful: install pacemaker-resource-agents (make deps)"
		echo "$example" >"$dir/example"
	fi
	"$bin/basalt" certs init --dir "$dir/certs" --hosts h1,h2,h3
	cat >"$dir/cluster.yaml" <<YAML
cluster: {name: quickstart, heartbeat-interval: 500ms, dead-timeout: 3s, fence-timeout: 20s, ocf-root: "$(ocf_root)"}
hosts:
  - {name: h1, address: "127.0.0.1:$(port h1)"}
  - {name: h2, address: "127.0.0.1:$(port h2)"}
  - {name: h3, address: "127.0.0.1:$(port h3)"}
fence-devices:
  - {id: pid-h1, agent: fence_basalt_pid, params: {hosts_dir: "$dir/hosts"}, hosts: {h1: h1}}
  - {id: pid-h2, agent: fence_basalt_pid, params: {hosts_dir: "$dir/hosts"}, hosts: {h2: h2}}
  - {id: pid-h3, agent: fence_basalt_pid, params: {hosts_dir: "$dir/hosts"}, hosts: {h3: h3}}
$(resources_yaml)
YAML
	"$bin/basalt" validate --config "$dir/cluster.yaml" --ocf-root "$(ocf_root)" --fence-agents "$repo/agents/fence" >/dev/null
}

# start_agent H: host H's agent, logging to DIR/H.log (appended: a restart
# keeps the earlier life's lines). The daemons hold none of this script's
# streams, so that whoever runs it (a terminal, a test) is not kept waiting.
start_agent() {
	mkdir -p "$dir/hosts/$1/resources" "$dir/hosts/$1/varrun"
	"$bin/basalt-agent" serve --host "$1" --listen "127.0.0.1:$(port "$1")" --certs "$dir/certs" \
		--state-dir "$dir/state/$1" --ocf-root "$(ocf_root)" --fence-agents "$repo/agents/fence" \
		--rsc-tmp "$dir/hosts/$1/resources" --var-run "$dir/hosts/$1/varrun" --pid-file "$dir/hosts/$1/agent.pid" \
		--heartbeat-interval 500ms >>"$dir/$1.log" 2>&1 </dev/null &
}

# managers: the replicas' names (none for a single manager).
managers() {
	[ -f "$dir/managers/count" ] || return 0
	i=1
	while [ "$i" -le "$(cat "$dir/managers/count")" ]; do echo "m$i"; i=$((i + 1)); done
}

# sockets: what BASALT_SOCKET is for this cluster.
sockets() {
	if [ -f "$dir/managers/count" ]; then
		managers | sed "s|.*|$dir/managers/&.sock|" | paste -sd, -
	else
		echo "$dir/manager.sock"
	fi
}

etcd_url() { echo "http://127.0.0.1:$((base + 10))"; }

# start_etcd: one etcd member on loopback for the replicas, if not running.
start_etcd() {
	running "$dir/managers/etcd.pid" && return 0
	command -v etcd >/dev/null || die "--managers needs etcd (make deps installs Debian's etcd-server)"
	peer="http://127.0.0.1:$((base + 11))"
	etcd --name e1 --data-dir "$dir/managers/etcd" --listen-client-urls "$(etcd_url)" --advertise-client-urls "$(etcd_url)" \
		--listen-peer-urls "$peer" --initial-advertise-peer-urls "$peer" --initial-cluster "e1=$peer" \
		>>"$dir/managers/etcd.log" 2>&1 </dev/null &
	echo $! >"$dir/managers/etcd.pid"
}

# start_replica M: manager replica M, standing by until elected.
start_replica() {
	"$bin/basalt-manager" --config "$dir/cluster.yaml" --certs "$dir/certs" --etcd "$(etcd_url)" --name "$1" \
		--socket "$dir/managers/$1.sock" >>"$dir/managers/$1.log" 2>&1 </dev/null &
	echo $! >"$dir/managers/$1.pid"
}

check_manager() {
	case " $(managers | tr '\n' ' ') " in *" $1 "*) ;; *) die "no manager replica \"$1\" (replicas: $(managers | tr '\n' ' '); see --managers)" ;; esac
}

start_managers() {
	if [ -f "$dir/managers/count" ]; then
		start_etcd
		for m in $(managers); do running "$dir/managers/$m.pid" || start_replica "$m"; done
	elif ! running "$dir/manager.pid"; then
		"$bin/basalt-manager" --config "$dir/cluster.yaml" --state-dir "$dir/state/manager" --certs "$dir/certs" \
			--socket "$dir/manager.sock" >>"$dir/manager.log" 2>&1 </dev/null &
		echo $! >"$dir/manager.pid"
	fi
}

start() {
	if [ ! -f "$dir/cluster.yaml" ]; then
		create
		if [ "$replicas" -gt 0 ]; then mkdir -p "$dir/managers" && echo "$replicas" >"$dir/managers/count"; fi
	elif [ "$replicas" -gt 0 ] && [ ! -f "$dir/managers/count" ]; then
		die "$dir was created with one manager: --managers is given when a cluster is created (use a new DIR)"
	elif [ -n "$example" ] && [ ! -f "$dir/example" ]; then
		die "$dir was created without --example: it is given when a cluster is created (use a new DIR)"
	fi
	for h in $hosts; do
		running "$dir/hosts/$h/agent.pid" || start_agent "$h"
	done
	start_managers
	if [ -f "$dir/example" ]; then
		cat <<TXT
Cluster starting in $dir, with a promotable clone of Debian's Stateful. Then:
  export BASALT_SOCKET=$(sockets)
  $bin/basalt status          # db: running on h1,h2,h3, promoted on one of them
  cat $dir/hosts/h*/varrun/Stateful-db.state
  $0 $dir kill-host H         # H: the promoted host: fenced, then another is promoted
  $bin/basalt status; $bin/basalt events   # fenced before promoted
  $0 $dir restart-host H      # H is back, unpromoted
  $0 $dir stop
TXT
		return
	fi
	cat <<TXT
Cluster starting in $dir. Then:
  export BASALT_SOCKET=$(sockets)
  $bin/basalt status
  $0 $dir kill-host h1        # h1 crashes: fenced, then the group fails over
  $bin/basalt status; $bin/basalt events
  $0 $dir restart-host h1     # h1 is back: the cluster is healthy again
  $bin/basalt resource move demo --host h1 --wait
  $0 $dir stop
TXT
	if [ -f "$dir/managers/count" ]; then
		cat <<TXT
With manager replicas:
  $bin/basalt status          # Managers: which one leads, at which epoch
  $0 $dir kill-manager m1     # kill -9 a replica (the leader?): a standby takes over
  $0 $dir restart-manager m1  # it comes back as a standby
TXT
	fi
}

# pidfiles: every daemon's pid file, managers first (etcd last: a replica
# that stops resigns through it).
pidfiles() {
	if [ -f "$dir/managers/count" ]; then
		for m in $(managers); do echo "$dir/managers/$m.pid"; done
	else
		echo "$dir/manager.pid"
	fi
	for h in $hosts; do echo "$dir/hosts/$h/agent.pid"; done
	[ ! -f "$dir/managers/count" ] || echo "$dir/managers/etcd.pid"
}

status() {
	for f in $(pidfiles); do
		name=$(basename "$f" .pid)
		[ "$name" = agent ] && name=$(basename "$(dirname "$f")")
		if running "$f"; then echo "$name: running (pid $(cat "$f"))"; else echo "$name: not running"; fi
	done
	BASALT_SOCKET=$(sockets) "$bin/basalt" status
}

# wait_gone PIDFILE: until its process has exited (at most 10 s).
wait_gone() {
	i=0
	while running "$1" && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
}

stop() {
	for f in $(pidfiles); do
		[ "$(basename "$f")" = etcd.pid ] && continue
		if running "$f"; then kill "$(cat "$f")"; fi
	done
	if [ -f "$dir/managers/count" ]; then
		# The replicas resign through etcd: it stops once they are gone.
		for m in $(managers); do wait_gone "$dir/managers/$m.pid"; done
		if running "$dir/managers/etcd.pid"; then kill "$(cat "$dir/managers/etcd.pid")"; fi
	fi
	echo "stopped; the cluster's files stay in $dir ($0 $dir starts it again)"
}

[ -d "$dir" ] || [ "$cmd" = start ] || die "no cluster in $dir (start one with: $0 $dir)"
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
case $cmd in
start) start ;;
status) status ;;
stop) stop ;;
kill-host)
	h=${3:?kill-host needs a host}
	check_host "$h"
	running "$dir/hosts/$h/agent.pid" || die "$h's agent is not running"
	kill -9 "$(cat "$dir/hosts/$h/agent.pid")"
	echo "$h's agent killed (kill -9): the manager will find $h silent, fence it and fail its groups over"
	;;
restart-host)
	h=${3:?restart-host needs a host}
	check_host "$h"
	running "$dir/hosts/$h/agent.pid" && die "$h's agent is running already"
	# Powered on again (the PID fence agent recorded the fence's off).
	[ ! -f "$dir/hosts/$h/power" ] || echo on >"$dir/hosts/$h/power"
	start_agent "$h"
	echo "$h's agent started again: the manager probes it and it may run resources again"
	;;
kill-manager)
	m=${3:?kill-manager needs a replica name}
	check_manager "$m"
	running "$dir/managers/$m.pid" || die "replica $m is not running"
	kill -9 "$(cat "$dir/managers/$m.pid")"
	echo "replica $m killed (kill -9): if it led, a standby takes over once its lease lapses"
	;;
restart-manager)
	m=${3:?restart-manager needs a replica name}
	check_manager "$m"
	running "$dir/managers/$m.pid" && die "replica $m is running already"
	start_replica "$m"
	echo "replica $m started again: it stands by, and campaigns"
	;;
*) die "unknown command \"$cmd\"; $usage" ;;
esac
