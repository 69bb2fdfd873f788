package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/spf13/pflag"

	"github.com/basalt-ha/basalt/core/lrm"
	"github.com/basalt-ha/basalt/core/ocf"
	"github.com/basalt-ha/basalt/live/daemon"
	"github.com/basalt-ha/basalt/live/process"
)

// runOpOutput is the -o json shape.
type runOpOutput struct {
	Resource   string  `json:"resource"`
	Agent      string  `json:"agent"`
	Action     string  `json:"action"`
	Depth      int     `json:"depth"`
	RC         int     `json:"rc"`
	RCName     string  `json:"rc_name"`
	Status     string  `json:"status"`
	Outcome    string  `json:"outcome"`
	ExitReason string  `json:"exit_reason,omitempty"`
	Seconds    float64 `json:"seconds"`
	Output     string  `json:"output,omitempty"`
}

func runOp(args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("run-op", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	agent := fs.String("agent", "", "resource agent, ocf:<provider>:<type> (required)")
	action := fs.String("action", "", "OCF action: start, stop, monitor, meta-data, validate-all, ... (required)")
	params := fs.StringArray("param", nil, "agent parameter name=value (repeatable); passed in the environment, never through a shell")
	timeout := fs.Duration("timeout", 20*time.Second, "operation timeout; the agent's process group is killed past it")
	depth := fs.Int("depth", 0, "monitor depth (OCF_CHECK_LEVEL)")
	instance := fs.String("resource", "run-op", "resource instance name (OCF_RESOURCE_INSTANCE)")
	ocfRoot := fs.String("ocf-root", defaultOCFRoot(), "OCF root (default $OCF_ROOT or /usr/lib/ocf)")
	output := fs.StringP("output", "o", "text", "output format: text or json")
	verbose := fs.BoolP("verbose", "v", false, "log the LRM's steps on stderr")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return 0
		}
		// ContinueOnError leaves reporting to us.
		fmt.Fprintf(stderr, "basalt-agent run-op: %v\nRun 'basalt-agent run-op --help' for usage.\n", err)
		return 2
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "basalt-agent run-op: "+format+"\n", a...)
		return 2
	}
	if fs.NArg() > 0 {
		return fail("unexpected argument %q", fs.Arg(0))
	}
	if *agent == "" || *action == "" {
		return fail("--agent and --action are required")
	}
	root, err := filepath.Abs(*ocfRoot) // agents run with OCF_ROOT, whatever their directory
	if err != nil {
		return fail("--ocf-root: %v", err)
	}
	*ocfRoot = root
	if *output != "text" && *output != "json" {
		return fail("--output %q: want text or json", *output)
	}
	a, err := ocf.ParseAgent(*agent)
	if err != nil {
		return fail("--agent: %v", err)
	}
	act, err := ocf.ParseAction(*action)
	if err != nil {
		return fail("--action: %v", err)
	}
	pm := map[string]string{}
	for _, p := range *params {
		k, v, ok := strings.Cut(p, "=")
		if !ok {
			return fail("--param %q: want name=value", p)
		}
		if err := ocf.ValidParamName(k); err != nil {
			return fail("--param: %v", err)
		}
		pm[k] = v
	}

	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	d, err := daemon.NewLRM(lrm.Config{OCFRoot: *ocfRoot}, clock.New(), process.NewRunner(), log)
	if err != nil {
		return fail("%v", err)
	}
	defer d.Close()
	if err := d.Register(lrm.Resource{ID: *instance, Name: *instance, Agent: a, Params: pm}); err != nil {
		return fail("%s", firstLine(err.Error()))
	}
	// The LRM enforces the timeout itself; the context only guards against
	// a driver bug leaving us waiting forever.
	ctx, cancel := context.WithTimeout(context.Background(), *timeout+time.Minute)
	defer cancel()
	res, err := d.Exec(ctx, lrm.OpRequest{Resource: *instance, Action: act, Timeout: *timeout, Depth: *depth})
	if err != nil {
		return fail("%s", firstLine(err.Error()))
	}
	out := runOpOutput{
		Resource: res.Resource, Agent: a.String(), Action: string(res.Action), Depth: res.Depth,
		RC: int(res.RC), RCName: res.RC.String(), Status: res.Status.String(), Outcome: res.Outcome.String(),
		ExitReason: res.ExitReason, Seconds: res.RunTime().Seconds(), Output: res.Output,
	}
	if *output == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(out)
	} else {
		fmt.Fprintf(stdout, "%s %s on %s: %s (rc %d), status %s, outcome %s, %.3fs\n",
			out.Agent, out.Action, out.Resource, out.RCName, out.RC, out.Status, out.Outcome, out.Seconds)
		if out.ExitReason != "" {
			fmt.Fprintf(stdout, "exit reason: %s\n", out.ExitReason)
		}
		if act == ocf.MetaDataAction && out.Output != "" {
			fmt.Fprint(stdout, out.Output)
		}
	}
	// The agent's rc is the exit code, as crm_resource --force-* does; an op
	// that never produced an rc (timeout, not installed) exits with the rc
	// the LRM assigned it.
	return int(res.RC)
}

func defaultOCFRoot() string {
	if r := os.Getenv("OCF_ROOT"); r != "" {
		return r
	}
	return "/usr/lib/ocf"
}
