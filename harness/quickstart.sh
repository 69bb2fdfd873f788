#!/bin/sh
# quickstart.sh DIR: a real 3-host Basalt cluster on this machine, in DIR.
# Agents listen on 127.0.0.1 ports, run the repository's state-file agent and
# are fenced by the PID fence agent; certificates come from basalt certs init.
# It prints the commands to look at it, break it and stop it.
set -eu
dir=${1:?usage: harness/quickstart.sh DIR}
repo=$(cd "$(dirname "$0")/.." && pwd)
bin=$repo/bin
[ -x "$bin/basalt-manager" ] || (cd "$repo" && make build)
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
"$bin/basalt" certs init --dir "$dir/certs" --hosts h1,h2,h3
cat >"$dir/cluster.yaml" <<YAML
cluster: {name: quickstart, heartbeat-interval: 500ms, dead-timeout: 3s, fence-timeout: 20s, ocf-root: "$repo/agents/ocf"}
hosts:
  - {name: h1, address: "127.0.0.1:17101"}
  - {name: h2, address: "127.0.0.1:17102"}
  - {name: h3, address: "127.0.0.1:17103"}
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
"$bin/basalt" validate --config "$dir/cluster.yaml" >/dev/null
n=1
for h in h1 h2 h3; do
	mkdir -p "$dir/hosts/$h/resources"
	"$bin/basalt-agent" serve --host $h --listen 127.0.0.1:1710$n --certs "$dir/certs" \
		--state-dir "$dir/state/$h" --ocf-root "$repo/agents/ocf" --fence-agents "$repo/agents/fence" \
		--rsc-tmp "$dir/hosts/$h/resources" --pid-file "$dir/hosts/$h/agent.pid" \
		--heartbeat-interval 500ms 2>"$dir/$h.log" &
	n=$((n + 1))
done
"$bin/basalt-manager" --config "$dir/cluster.yaml" --state-dir "$dir/state/manager" --certs "$dir/certs" \
	--socket "$dir/manager.sock" 2>"$dir/manager.log" &
echo $! >"$dir/manager.pid"
cat <<TXT
Cluster starting in $dir. Then:
  export BASALT_SOCKET=$dir/manager.sock
  $bin/basalt status
  kill -9 \$(cat $dir/hosts/h1/agent.pid)      # h1's agent dies: fenced, then the group fails over
  $bin/basalt status; $bin/basalt events
  $bin/basalt resource move demo --host h3 --wait
To stop it all: kill \$(cat $dir/manager.pid) \$(cat $dir/hosts/*/agent.pid)
TXT
