package daemon

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/lrm"
	"github.com/basalt-ha/basalt/core/ocf"
	"github.com/basalt-ha/basalt/live/process"
)

// BenchmarkLRMOverhead runs the same Dummy monitor through the LRM and by a
// bare os/exec, alternating, and reports both rates and the LRM's overhead
// (goal: under 10%).
func BenchmarkLRMOverhead(b *testing.B) {
	requireInstalled(b, filepath.Join(debianOCFRoot, "resource.d/heartbeat/Dummy"))
	d := newDriver(b, lrm.Config{}, process.NewRunner())
	state := filepath.Join(b.TempDir(), "bench.state")
	params := map[string]string{"state": state}
	agent := ocf.Agent{Provider: "heartbeat", Type: "Dummy"}
	require.NoError(b, d.Register(lrm.Resource{ID: "bench", Agent: agent, Params: params}))
	require.Equal(b, ocf.OK, exec1(b, d, lrm.OpRequest{Resource: "bench", Action: ocf.Start}).RC)
	path, err := agent.Path(debianOCFRoot)
	require.NoError(b, err)
	env, err := ocf.Env(ocf.EnvSpec{Root: debianOCFRoot, Agent: agent, Instance: "bench", Params: params,
		Timeout: 20 * time.Second, Extra: []string{DefaultPath}})
	require.NoError(b, err)

	var viaLRM, raw time.Duration
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		res := exec1(b, d, lrm.OpRequest{Resource: "bench", Action: ocf.Monitor})
		viaLRM += time.Since(t0)
		if res.RC != ocf.OK {
			b.Fatalf("monitor through the LRM: %s", res)
		}
		t0 = time.Now()
		cmd := exec.Command(path, "monitor")
		cmd.Env, cmd.Dir = env, "/"
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Run(); err != nil {
			b.Fatalf("raw monitor: %v", err)
		}
		raw += time.Since(t0)
	}
	b.StopTimer()
	lrmRate := float64(b.N) / viaLRM.Seconds()
	rawRate := float64(b.N) / raw.Seconds()
	b.ReportMetric(lrmRate, "lrm-ops/s")
	b.ReportMetric(rawRate, "raw-ops/s")
	b.ReportMetric(100*(viaLRM.Seconds()-raw.Seconds())/raw.Seconds(), "overhead-%")
	b.ReportMetric(0, "ns/op")
}
