package main

import (
	"encoding/json"
	"errors"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/live/api"
)

// basalt host confirm-down without --yes prints the warning and a
// mistake, sends nothing and exits 2: no report was opened.
func TestConfirmDownWithoutYes(t *testing.T) {
	sock := manager(t)
	rc, out, errOut := runCLI("host", "confirm-down", "oss1", "--socket", sock)
	require.Equal(t, 2, rc)
	require.Empty(t, out)
	golden(t, "confirm-down-without-yes.txt", errOut)
	reps, err := api.NewClient(sock).Reports()
	require.NoError(t, err)
	require.Empty(t, reps, "nothing was sent")
}

// basalt host confirm-down --yes warns, sends the request and prints its
// report; the event log and the fencing history show the confirmation.
func TestConfirmDownWithYes(t *testing.T) {
	sock := manager(t)
	rc, out, errOut := runCLI("host", "confirm-down", "oss1", "--yes", "--wait", "--socket", sock)
	require.Equal(t, 0, rc, errOut)
	require.True(t, strings.HasPrefix(errOut, "WARNING: basalt host confirm-down oss1 tells the manager"), errOut)
	require.Regexp(t, `^report r\d+-1\nreport r\d+-1: confirm-down oss1 — CLOSED done\n  oss1 +host offline\n$`, out)

	rc, out, _ = runCLI("events", "--socket", sock)
	require.Equal(t, 0, rc)
	require.Regexp(t, `#\d+ confirm-down host=oss1 report=r\d+-1: the operator \(uid \d+( \([^)]*\))?\) confirmed that the power of oss1 is off; it is taken as fenced. WARNING: if the host is in fact running`, out)
	require.Regexp(t, `#\d+ fenced host=oss1: confirmed down by the operator: no device was run`, out)
	rc, out, _ = runCLI("fence", "history", "--socket", sock)
	require.Equal(t, 0, rc)
	require.Regexp(t, `(?m)^oss1 off OK: operator \(confirm-down\) \(requested \S+, completed \S+, took 0s\)\n  confirmed: confirmed down by the operator: no device was run$`, out)

	rc, out, errOut = runCLI("host", "confirm-down", "oss1", "--yes", "--socket", sock)
	require.Equal(t, 1, rc)
	require.Empty(t, out)
	require.True(t, strings.HasSuffix(errOut, "basalt host confirm-down: confirm-down oss1: oss1 is already known to be off (fenced); there is nothing to confirm\n"), errOut)
}

// basalt power status asks the devices: with the agents unreachable no
// peer can run oss1's, which reads UNKNOWN (exit 1) and says why; -o json
// is the view. The manager's refusals are one line, exit 1.
func TestPowerAgainstAManager(t *testing.T) {
	sock := manager(t)
	rc, out, errOut := runCLI("power", "status", "oss1", "--socket", sock)
	require.Equal(t, 1, rc, errOut)
	require.Empty(t, errOut)
	require.Regexp(t, `^Power of oss1, asked at \S+:\n  pid-oss1     UNKNOWN  no host but oss1 is online to run it\n$`, out)
	rc, out, _ = runCLI("power", "status", "oss1", "-o", "json", "--socket", sock)
	require.Equal(t, 1, rc)
	var v api.PowerStatusView
	require.NoError(t, json.Unmarshal([]byte(out), &v))
	require.Equal(t, "oss1", v.Host)
	require.Len(t, v.Devices, 1)

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"power", "status", "oss9"}, `basalt power status: power status oss9: no host "oss9" (hosts: oss1, oss2)`},
		{[]string{"power", "on", "oss9"}, `basalt power on: power on oss9: no host "oss9" (hosts: oss1, oss2)`},
		{[]string{"power", "off", "oss9"}, `basalt power off: power off oss9: no host "oss9" (hosts: oss1, oss2)`},
	} {
		rc, out, errOut := runCLI(append(tc.args, "--socket", sock)...)
		require.Equal(t, 1, rc, "%v", tc.args)
		require.Empty(t, out)
		require.Equal(t, tc.want+"\n", errOut)
	}

	// No peer is online: the power-on's report fails, saying so.
	rc, out, _ = runCLI("power", "on", "oss2", "--wait", "--socket", sock)
	require.Equal(t, 1, rc)
	require.Regexp(t, `report r\d+-\d+: power on oss2 — CLOSED FAILED\n  oss2 +power on FAILED: every fencing level failed: level 1: no peer can run device pid-oss2\n$`, out)
	rc, out, _ = runCLI("fence", "history", "--socket", sock)
	require.Equal(t, 0, rc)
	require.Regexp(t, regexp.MustCompile(`(?m)^oss2 on FAILED: operator \(power on\) `), out)
}

// printPowerStatus: one line per device, its state, who ran it, the rc and
// the agent's first line, or why no answer came.
func TestPowerStatusText(t *testing.T) {
	at := time.Date(2026, 12, 2, 7, 30, 0, 0, time.UTC)
	var w strings.Builder
	printPowerStatus(&w, api.PowerStatusView{Host: "oss1", Asked: at, Done: true, Devices: []api.PowerReadingView{
		{Device: "ipmi-oss1", Executor: "oss2", State: "ON", RC: 0, Output: "Status: ON"},
		{Device: "pdu-a", Executor: "oss2", State: "OFF", RC: 2, Output: "Status: OFF"},
		{Device: "pdu-b", Executor: "oss2", State: "UNKNOWN", RC: 1, Output: "Unable to connect/login to fencing device"},
		{Device: "pdu-c", Executor: "oss3", State: "UNKNOWN", Timeout: true},
		{Device: "pdu-d", State: "UNKNOWN", Lost: "no host but oss1 is online to run it"}}})
	golden(t, "power-status.txt", w.String())
}

// The built binary, as an operator runs it: confirm-down without --yes
// exits 2 with the warning (the same golden file), and power status
// against a manager exits 1 on an UNKNOWN device.
func TestPowerCommandsAsABinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "basalt")
	build := exec.Command("go", "build", "-o", bin, ".")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)
	sock := manager(t)
	runBin := func(args ...string) (int, string, string) {
		var stdout, stderr strings.Builder
		cmd := exec.Command(bin, append(args, "--socket", sock)...)
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			require.NoError(t, err)
		}
		return cmd.ProcessState.ExitCode(), stdout.String(), stderr.String()
	}
	rc, stdout, stderr := runBin("host", "confirm-down", "oss1")
	require.Equal(t, 2, rc)
	require.Empty(t, stdout)
	golden(t, "confirm-down-without-yes.txt", stderr)
	rc, stdout, _ = runBin("power", "status", "oss2")
	require.Equal(t, 1, rc)
	require.Contains(t, stdout, "  pid-oss2     UNKNOWN  no host but oss2 is online to run it\n")
}
