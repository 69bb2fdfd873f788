# Basalt's build. `make test` is the whole default suite (CI runs exactly it);
# `make sim` is the main job (a simulated cluster under faults, with its
# report). Everything a fresh Debian machine with only Go lacks is installed
# by `make deps`.

GO          ?= go
BIN         := bin
# Debian packages the tests run for real: OCF agents (heartbeat/Dummy,
# pacemaker/Dummy, ocf-tester and the xmllint it needs) and fence agents
# (fence_dummy); ip and tc for the real partitions of the process tests
# (iproute2).
DEB_PACKAGES := resource-agents pacemaker-resource-agents fence-agents libxml2-utils iproute2 etcd-server
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
# Packages that start goroutines run again under the race detector.
RACE_PKGS   := ./live/...

.PHONY: all deps deps-chromium build test race bench bench-huge lint fmt run-op sim swarm chaos scenarios-process clean

all: build

# deps installs the Debian packages the tests need, with one apt-get update,
# and does nothing when they are all present.
deps:
	@missing=""; \
	for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	  echo "deps: installing Debian packages:$$missing"; \
	  $$sudo apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $$missing; \
	fi

# deps-chromium installs Debian's chromium, which only the timeline's
# rendering test uses (harness/check, TestTimelineRendersInChromium: the
# page rendered headless, its lanes and markers looked up in the DOM); the
# test skips without it, so `make deps` leaves this large package out.
deps-chromium:
	@if ! command -v chromium >/dev/null 2>&1; then \
	  sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	  echo "deps-chromium: installing Debian's chromium"; \
	  $$sudo apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends chromium; \
	fi

build:
	$(GO) build -o $(BIN)/ ./cmd/...

# test is the default suite: unit, golden and simulator tests, the fast
# subset of scenarios on real processes, the race detector where goroutines
# run, and a short chaos run on real processes (TEST_CHAOS_FOR; its seed is
# printed, and a failure keeps its logs, history and timeline in chaos-out/).
TEST_CHAOS_FOR ?= 60s
TEST_CHAOS_SEED ?= 7
test: deps
	$(GO) vet ./...
	$(GO) test -count=1 ./...
	$(GO) test -count=1 -race $(RACE_PKGS)
	$(GO) test -count=1 -race -run 'TestSwarmSummary' ./sim/swarm
	$(GO) test -count=1 -timeout 10m -run 'TestChaos$$' -v ./harness -chaos $(TEST_CHAOS_FOR) -chaos-seed $(TEST_CHAOS_SEED) -chaos-keep $(CURDIR)/chaos-out

# scenarios-process runs every scenario against the real daemons (the
# default suite runs a fast subset); failures keep their files in
# scenarios/testdata/out/. PROCESS_NETWORK=netns makes partitions in the
# kernel (needs root and iproute2).
PROCESS_NETWORK ?= proxy
scenarios-process: deps
	$(GO) test -count=1 -timeout 30m -run Process -v ./scenarios/... -process-network $(PROCESS_NETWORK)

race:
	$(GO) test -count=1 -race ./...

bench: deps
	$(GO) test -run '^$$' -bench . -benchtime 2s ./...
	$(GO) test -run '^$$' -bench 'Plan.*/1000x' -benchtime 10x ./core/planner -args -bench-huge
	$(MAKE) bench-huge

# bench-huge simulates one virtual minute of a 1,000-host × 10,000-resource
# cluster configured as a large cluster (basalt-sim generate --large) and
# prints its wall time (about half a minute; bench runs it last).
bench-huge: deps
	$(GO) test -run '^$$' -bench 'SeedSized/1000x' -benchtime 1x -timeout 60m ./sim/swarm -args -bench-huge

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

# sim is the main job: 1,000 seeds of the default simulated cluster under
# faults, with every checker on, and the summary.
sim: build
	$(BIN)/basalt-sim run --seeds 1-1000

# swarm is the large simulator run for CI chaos jobs and before releases.
swarm: build
	$(BIN)/basalt-sim run --seeds 1-100000
	$(BIN)/basalt-sim run --shapes --seeds 1-20000
	$(BIN)/basalt-sim run --replicas 3 --seeds 1-100000

# chaos runs real processes for CHAOS_FOR under a fault plan that the
# simulator's generator draws from CHAOS_SEED (printed with the plan's
# summary; a failing run keeps its logs, timeline and plan in chaos-out/),
# then a large simulator swarm.
CHAOS_FOR  ?= 5m
CHAOS_SEED ?= 0
# CHAOS_NETWORK=netns makes partitions in the kernel (needs root and iproute2).
CHAOS_NETWORK ?= proxy
# CHAOS_REPLICAS=3 runs three manager replicas on a real etcd: the manager
# faults strike the leader, and the leader cut from etcd and etcd down are
# drawn too. The run after the default one does so.
CHAOS_REPLICAS ?= 0
chaos: deps build
	$(GO) test -count=1 -timeout 60m -run TestChaos -v ./harness -chaos $(CHAOS_FOR) -chaos-seed $(CHAOS_SEED) -chaos-network $(CHAOS_NETWORK) -chaos-replicas $(CHAOS_REPLICAS) -chaos-keep $(CURDIR)/chaos-out
	$(GO) test -count=1 -timeout 60m -run TestChaos -v ./harness -chaos $(CHAOS_FOR) -chaos-seed $(CHAOS_SEED) -chaos-network $(CHAOS_NETWORK) -chaos-replicas 3 -chaos-keep $(CURDIR)/chaos-out
	$(BIN)/basalt-sim run --seeds 1-20000
	$(BIN)/basalt-sim run --replicas 3 --seeds 1-20000

# run-op is the LRM's human way in: one OCF action through the LRM.
run-op: deps build
	mkdir -p $(BIN)/demo
	$(BIN)/basalt-agent run-op --agent ocf:heartbeat:Dummy --action start --param state=$(CURDIR)/$(BIN)/demo/dummy.state --timeout 20s
	$(BIN)/basalt-agent run-op --agent ocf:heartbeat:Dummy --action monitor --param state=$(CURDIR)/$(BIN)/demo/dummy.state --timeout 20s
	$(BIN)/basalt-agent run-op --agent ocf:heartbeat:Dummy --action stop --param state=$(CURDIR)/$(BIN)/demo/dummy.state --timeout 20s

clean:
	rm -rf $(BIN)
