package harness

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestParseLogLine reads log/slog's text lines as the manager writes them,
// quoted values and all, and refuses what is not one.
func TestParseLogLine(t *testing.T) {
	attrs, ok := parseLogLine(`time=2026-12-02T14:31:37.123Z level=ERROR msg="host lost" host=h1 why="no heartbeat for 3s (\"late\")"`)
	require.True(t, ok)
	require.Equal(t, map[string]string{"time": "2026-12-02T14:31:37.123Z", "level": "ERROR", "msg": "host lost", "host": "h1",
		"why": `no heartbeat for 3s ("late")`}, attrs)
	attrs, ok = parseLogLine(`time=2026-12-02T14:31:37.5+01:00 level=WARN msg="fencing requested" target=h2 origin=manager action=off`)
	require.True(t, ok)
	require.Equal(t, "h2", attrs["target"])
	require.Equal(t, "off", attrs["action"])
	for _, bad := range []string{"", "goroutine 1 [running]:", `time=x msg="unterminated`, "level=INFO", `time=x key with space=1 msg=m`} {
		_, ok := parseLogLine(bad)
		require.False(t, ok, bad)
	}
}

// TestManagerLogs reads every manager's log in the cluster's directory,
// only the records the timeline draws, each with its source, in time order.
func TestManagerLogs(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644))
	}
	write("manager.log", `time=2026-12-02T14:00:02.000Z level=ERROR msg="host lost" host=h1 why=silent
time=2026-12-02T14:00:02.500Z level=INFO msg="group started" group=g
panic: not a record
`)
	write("manager-2.log", `time=2026-12-02T14:00:01.000Z level=WARN msg="fencing requested" target=h2 origin=admin action=off
time=2026-12-02T14:00:03.000Z level=ERROR msg="fencing failed" target=h2 reason=timeout
`)
	write("h1.log", `time=2026-12-02T14:00:00.000Z level=ERROR msg="host lost" host=h9 why=an-agent-log
`)
	logs := (&ProcessCluster{Dir: dir}).ManagerLogs()
	var got []string
	for _, l := range logs {
		got = append(got, l.At.UTC().Format(time.TimeOnly)+" "+l.Source+" "+l.Msg)
	}
	require.Equal(t, []string{"14:00:01 manager-2 fencing requested", "14:00:02 manager host lost", "14:00:03 manager-2 fencing failed"}, got)
	require.Equal(t, "silent", logs[1].Attrs["why"])
}
