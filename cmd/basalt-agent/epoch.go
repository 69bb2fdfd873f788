package main

import (
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/spf13/pflag"

	"github.com/basalt-ha/basalt/core/agent"
	"github.com/basalt-ha/basalt/core/proto"
	"github.com/basalt-ha/basalt/core/storage"
	"github.com/basalt-ha/basalt/live/store"
)

// epochCmd is `basalt-agent epoch`: --show prints the highest manager
// epoch the agent has stored; --reset N replaces it, the documented repair
// of a poisoned record (an epoch no manager can pass, stored before agents
// refused impossible epochs). N should be the current manager's epoch: a
// lower one lets a superseded manager be obeyed again. The state
// directory's lock refuses it while the agent runs.
func epochCmd(args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("basalt-agent epoch", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	stateDir := fs.String("state-dir", "/var/lib/basalt/agent", "the agent's state directory")
	show := fs.Bool("show", false, "print the stored manager epoch")
	reset := fs.String("reset", "", "replace the stored manager epoch with this one (the current manager's epoch)")
	fail := func(code int, format string, args ...any) int {
		fmt.Fprintf(stderr, "basalt-agent epoch: "+format+"\n", args...)
		return code
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return 0
		}
		return fail(2, "%v", err)
	}
	if fs.NArg() > 0 {
		return fail(2, "unexpected argument %q", fs.Arg(0))
	}
	if *show == (*reset != "") {
		return fail(2, "give exactly one of --show, --reset N")
	}
	var n uint64
	if *reset != "" {
		var err error
		if n, err = strconv.ParseUint(*reset, 10, 64); err != nil {
			return fail(2, "--reset %q: want a non-negative integer", *reset)
		}
		if proto.Epoch(n) > proto.MaxEpoch {
			return fail(2, "--reset %d is above the ceiling %d that agents accept", n, proto.MaxEpoch)
		}
	}
	st, err := store.OpenStopped(*stateDir, "agent")
	if err != nil {
		return fail(1, "%v", err)
	}
	defer st.Close()
	old, err := storedEpoch(st)
	if err != nil {
		return fail(1, "%v", err)
	}
	if *show {
		fmt.Fprintf(stdout, "epoch %s\n", old)
		return 0
	}
	if err := st.Write(agent.EpochRecord, proto.EncodeEpoch(proto.Epoch(n))); err != nil {
		return fail(1, "%v", err)
	}
	fmt.Fprintf(stdout, "epoch %d stored (was %s)\n", n, old)
	return 0
}

// storedEpoch renders the agent's epoch record ("none" when there is
// none). A record that does not parse is shown, not refused: it is what
// --reset repairs.
func storedEpoch(st storage.Store) (string, error) {
	data, err := st.Read(agent.EpochRecord)
	if errors.Is(err, storage.ErrNotFound) {
		return "none", nil
	}
	if err != nil {
		return "", err
	}
	e, err := proto.DecodeEpoch(data)
	if err != nil {
		return fmt.Sprintf("unreadable (%q)", data), nil
	}
	if e > proto.MaxEpoch {
		return fmt.Sprintf("%d (above the ceiling %d: poisoned; reset it)", e, proto.MaxEpoch), nil
	}
	return strconv.FormatUint(uint64(e), 10), nil
}
