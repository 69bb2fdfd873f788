#!/bin/sh
# quickstart.sh DIR [start|status|stop|kill-host H|restart-host H]
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
set -eu
usage="usage: harness/quickstart.sh DIR [start|status|stop|kill-host H|restart-host H]"
dir=${1:?$usage}
cmd=${2:-start}
repo=$(cd "$(dirname "$0")/.." && pwd)
bin=${BIN:-$repo/bin}
base=${PORT_BASE:-17101}
hosts="h1 h2 h3"

die() { echo "quickstart.sh: $*" >&2; exit 2; }

# running PIDFILE: the process named in PIDFILE is alive.
running() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# port H: host H's agent port.
port() { echo $((base + ${1#h} - 1)); }

check_host() {
	case " $hosts " in *" $1 "*) ;; *) die "no host \"$1\" (hosts: $hosts)" ;; esac
}

create() {
	[ -x "$bin/basalt-manager" ] || (cd "$repo" && make build)
	"$bin/basalt" certs init --dir "$dir/certs" --hosts h1,h2,h3
	cat >"$dir/cluster.yaml" <<YAML
cluster: {name: quickstart, heartbeat-interval: 500ms, dead-timeout: 3s, fence-timeout: 20s, ocf-root: "$repo/agents/ocf"}
hosts:
  - {name: h1, address: "127.0.0.1:$(port h1)"}
  - {name: h2, address: "127.0.0.1:$(port h2)"}
  - {name: h3, address: "127.0.0.1:$(port h3)"}
fence-devices:
  - {id: pid-h1, agent: fence_basalt_pid, params: {hosts_dir: "$dir/hosts"}, hosts: {h1: h1}}
  - {id: pid-h2, agent: fence_basalt_pid, params: {hosts_dir: "$dir/hosts"}, hosts: {h2: h2}}
  - {id: pid-h3, agent: fence_basalt_pid, params: {hosts_dir: "$dir/hosts"}, hosts: {h3: h3}}
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
	"$bin/basalt" validate --config "$dir/cluster.yaml" --ocf-root "$repo/agents/ocf" --fence-agents "$repo/agents/fence" >/dev/null
}

# start_agent H: host H's agent, logging to DIR/H.log (appended: a restart
# keeps the earlier life's lines). The daemons hold none of this script's
# streams, so that whoever runs it (a terminal, a test) is not kept waiting.
start_agent() {
	mkdir -p "$dir/hosts/$1/resources"
	"$bin/basalt-agent" serve --host "$1" --listen "127.0.0.1:$(port "$1")" --certs "$dir/certs" \
		--state-dir "$dir/state/$1" --ocf-root "$repo/agents/ocf" --fence-agents "$repo/agents/fence" \
		--rsc-tmp "$dir/hosts/$1/resources" --pid-file "$dir/hosts/$1/agent.pid" \
		--heartbeat-interval 500ms >>"$dir/$1.log" 2>&1 </dev/null &
}

start() {
	[ -f "$dir/cluster.yaml" ] || create
	for h in $hosts; do
		running "$dir/hosts/$h/agent.pid" || start_agent "$h"
	done
	if ! running "$dir/manager.pid"; then
		"$bin/basalt-manager" --config "$dir/cluster.yaml" --state-dir "$dir/state/manager" --certs "$dir/certs" \
			--socket "$dir/manager.sock" >>"$dir/manager.log" 2>&1 </dev/null &
		echo $! >"$dir/manager.pid"
	fi
	cat <<TXT
Cluster starting in $dir. Then:
  export BASALT_SOCKET=$dir/manager.sock
  $bin/basalt status
  $0 $dir kill-host h1        # h1 crashes: fenced, then the group fails over
  $bin/basalt status; $bin/basalt events
  $0 $dir restart-host h1     # h1 is back: the cluster is healthy again
  $bin/basalt resource move demo --host h1 --wait
  $0 $dir stop
TXT
}

status() {
	for f in "$dir/manager.pid" "$dir"/hosts/*/agent.pid; do
		name=$(basename "$(dirname "$f")")
		[ "$f" = "$dir/manager.pid" ] && name=manager
		if running "$f"; then echo "$name: running (pid $(cat "$f"))"; else echo "$name: not running"; fi
	done
	BASALT_SOCKET=$dir/manager.sock "$bin/basalt" status
}

stop() {
	for f in "$dir/manager.pid" "$dir"/hosts/*/agent.pid; do
		if running "$f"; then kill "$(cat "$f")"; fi
	done
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
*) die "unknown command \"$cmd\"; $usage" ;;
esac
