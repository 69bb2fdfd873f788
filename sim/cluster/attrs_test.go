package cluster

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/manager"
	"github.com/basalt-ha/basalt/core/model"
	"github.com/basalt-ha/basalt/core/proto"
)

// A simulated agent run of a resource with a promotion_score parameter
// sets its score as Stateful does, through the agent's tool input: the
// manager's store holds master-pool1 on the host it runs on; a move stops
// it there (the score deleted) and starts it on the other (set there). A
// host fenced loses it. Default runs, whose resources have no such
// parameter, set nothing (the trace hashes stay).
func TestSimAgentsSetPromotionScores(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "configs", "failover-pair.yaml"))
	require.NoError(t, err)
	text := strings.Replace(string(data), "      state: /run/basalt/oss/pool1.state\n",
		"      state: /run/basalt/oss/pool1.state\n      promotion_score: \"10\"\n", 1)
	m, err := model.Load("failover-pair.yaml", []byte(text))
	require.NoError(t, err)
	w := &world{t: t, s: newSafety(t, m)}
	w.Cluster = New(m, Options{Seed: 1, Observer: w.s.observe, Trace: func(l string) { w.lines = append(w.lines, l) }})
	score := proto.Attribute{Name: "master-pool1", Value: "10", Lifetime: proto.AttrReboot}
	has := func(h string) bool { return slices.Contains(w.Manager().Attributes()[h], score) }

	w.Boot()
	w.settle(time.Minute, func() bool { return w.runningOn("fs1", "oss1") && w.Manager().Idle() && has("oss1") }, "fs1 on oss1, scored")
	require.False(t, has("oss2"))

	_, err = w.Admin(manager.Request{Command: manager.CmdMove, Target: "fs1", Host: "oss2"})
	require.NoError(t, err)
	w.settle(time.Minute, func() bool { return w.runningOn("fs1", "oss2") && w.Manager().Idle() && has("oss2") && !has("oss1") },
		"the score follows fs1 to oss2")

	w.CrashAgent("oss2", 0)
	w.settle(2*time.Minute, func() bool { return w.runningOn("fs1", "oss1") && !has("oss2") && has("oss1") },
		"oss2 fenced: its score ends; oss1's is set again")
}
