package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/spf13/pflag"

	"github.com/basalt-ha/basalt/core/manager"
	"github.com/basalt-ha/basalt/core/model"
	"github.com/basalt-ha/basalt/core/proto"
	"github.com/basalt-ha/basalt/core/storage"
	"github.com/basalt-ha/basalt/live/etcdstore"
	"github.com/basalt-ha/basalt/live/store"
)

// epochCmd is `basalt-manager epoch`: the documented recovery of a
// manager's epoch record and event log, so that nobody edits them by
// hand. --show prints the record; --set N writes it (the next start takes
// N+1), to move a manager above the epoch its agents report once no other
// manager runs; --new-log starts an event log on purpose where one was
// lost. The state directory's lock refuses all of them while the manager
// runs. With --etcd they act on manager replicas' state in etcd, refused
// while any replica runs (campaigns).
func epochCmd(args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("basalt-manager epoch", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	stateDir := fs.String("state-dir", "/var/lib/basalt/manager", "the manager's state directory")
	config := fs.String("config", "/etc/basalt/cluster.yaml", "with --etcd and no --etcd-prefix: the configuration, for the cluster's name")
	eo := etcdFlags(fs)
	show := fs.Bool("show", false, "print the epoch record")
	set := fs.String("set", "", "write the epoch record: the next start takes this plus one (at least the highest epoch the agents report)")
	newLog := fs.Bool("new-log", false, "start an event log where it was lost (its bans, moves, fail counts and reports are forgotten)")
	fail := func(code int, format string, args ...any) int {
		fmt.Fprintf(stderr, "basalt-manager epoch: "+format+"\n", args...)
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
	if n := btoi(*show) + btoi(*set != "") + btoi(*newLog); n != 1 {
		return fail(2, "give exactly one of --show, --set N, --new-log")
	}
	var st storage.Store
	where := *stateDir
	if eo.on() {
		if fs.Changed("state-dir") {
			return fail(2, "--state-dir and --etcd: with --etcd the manager's state lives in etcd")
		}
		es, prefix, closeFn, code, err := etcdAdminStore(eo, *config, fs.Changed("etcd-prefix"))
		if err != nil {
			return fail(code, "%v", err)
		}
		defer closeFn()
		st, where = es, "etcd under "+prefix
	} else {
		dir, err := store.OpenStopped(*stateDir, "manager")
		if err != nil {
			return fail(1, "%v", err)
		}
		defer dir.Close()
		st = dir
	}
	switch {
	case *show:
		return showManagerEpoch(st, stdout, stderr)
	case *newLog:
		if err := manager.NewLog(st, time.Now()); err != nil {
			return fail(1, "%v", err)
		}
		fmt.Fprintf(stdout, "started an empty event log in %s\n", where)
		return 0
	}
	return setManagerEpoch(st, *set, stdout, stderr)
}

// showManagerEpoch prints the epoch record.
func showManagerEpoch(st storage.Store, stdout, stderr io.Writer) int {
	data, err := st.Read(manager.EpochRecord)
	if errors.Is(err, storage.ErrNotFound) {
		fmt.Fprintln(stdout, "no epoch record (the next start takes 1)")
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "basalt-manager epoch: %v\n", err)
		return 1
	}
	e, err := proto.DecodeEpoch(data)
	if err != nil {
		fmt.Fprintf(stderr, "basalt-manager epoch: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "epoch %d (the next start takes %d)\n", e, e+1)
	return 0
}

// setManagerEpoch writes the record. Epochs only grow: a lower value would
// hand out again epochs that agents have obeyed.
func setManagerEpoch(st storage.Store, arg string, stdout, stderr io.Writer) int {
	n, err := strconv.ParseUint(arg, 10, 64)
	if err != nil {
		fmt.Fprintf(stderr, "basalt-manager epoch: --set %q: want a non-negative integer\n", arg)
		return 2
	}
	if data, err := st.Read(manager.EpochRecord); err == nil {
		if cur, err := proto.DecodeEpoch(data); err == nil && proto.Epoch(n) < cur {
			fmt.Fprintf(stderr, "basalt-manager epoch: --set %d is below the recorded epoch %d: epochs only grow\n", n, cur)
			return 1
		}
	}
	if err := manager.SetEpoch(st, proto.Epoch(n)); err != nil {
		fmt.Fprintf(stderr, "basalt-manager epoch: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "epoch %d recorded (the next start takes %d)\n", n, n+1)
	return 0
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// etcdAdminStore is the replicas' state in etcd for an administrator: its
// writes apply only while no replica campaigns. The cluster's prefix comes
// from --etcd-prefix, or from the configuration's cluster name.
func etcdAdminStore(eo *etcdOptions, config string, prefixGiven bool) (storage.Store, string, func(), int, error) {
	if err := eo.check(); err != nil {
		return nil, "", nil, 2, err
	}
	cluster := ""
	if !prefixGiven {
		data, err := os.ReadFile(config)
		if err != nil {
			return nil, "", nil, 1, fmt.Errorf("the cluster's key prefix comes from its name in --config, or give --etcd-prefix: %w", err)
		}
		m, err := model.Load(config, data)
		if err != nil {
			return nil, "", nil, 1, err
		}
		cluster = m.Cluster.Name
	}
	prefix := eo.prefixFor(cluster)
	cli, err := eo.client()
	if err != nil {
		return nil, "", nil, 1, err
	}
	st := etcdstore.New(cli, prefix, etcdstore.Guard{NoneUnder: prefix + "/election/"}, 0)
	return st, prefix, func() { cli.Close() }, 0, nil
}
