package harness

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/basalt-ha/basalt/harness/check"
	"github.com/basalt-ha/basalt/live/api"
)

// Manager replicas (manager high availability): with
// ProcessOptions.Replicas, the cluster runs a one-member etcd on loopback
// and that many basalt-manager --etcd processes, named m1, m2, ..., each
// with its admin socket at Dir/<name>.sock and its log at
// Dir/manager-<name>.log. Socket lists every replica's socket, so that the
// CLI talks to whichever leads.

// replicaName is the name of replica i (from 0).
func replicaName(i int) string { return fmt.Sprintf("m%d", i+1) }

// startReplicas starts etcd and every replica. Called with pc.mu held.
func (pc *ProcessCluster) startReplicas() error {
	if err := pc.startEtcd(); err != nil {
		return err
	}
	w, err := watchElection(pc.etcdURL, "/basalt/"+pc.Model.Cluster.Name+"/election/")
	if err != nil {
		return fmt.Errorf("watching the election: %w", err)
	}
	pc.election = w
	pc.replicas, pc.etcdProxies = map[string]*process{}, map[string]*Proxy{}
	var socks []string
	for i := range pc.opts.Replicas {
		n := replicaName(i)
		socks = append(socks, pc.replicaSocket(n))
		if err := pc.startReplica(n); err != nil {
			return err
		}
	}
	pc.sock = strings.Join(socks, ",")
	return nil
}

// ReplicaSocket is replica name's own admin socket, for a request meant
// for that replica alone (a standby's refusal) rather than the leader.
func (pc *ProcessCluster) ReplicaSocket(name string) string { return pc.replicaSocket(name) }

func (pc *ProcessCluster) replicaSocket(name string) string {
	return filepath.Join(pc.Dir, name+".sock")
}

// startReplica starts replica name. Called with pc.mu held.
func (pc *ProcessCluster) startReplica(name string) error {
	ttl := pc.opts.LeaseTTL
	if ttl == 0 {
		ttl = 2 * time.Second
	}
	// Each replica reaches etcd through a proxy of its own, so that one
	// can be cut from etcd while it still reaches the agents.
	px := pc.etcdProxies[name]
	if px == nil {
		var err error
		if px, err = NewProxy(strings.TrimPrefix(pc.etcdURL, "http://")); err != nil {
			return fmt.Errorf("replica %s: %w", name, err)
		}
		pc.etcdProxies[name] = px
	}
	args := append([]string{"--config", pc.ConfigPath(), "--etcd", "http://" + px.Addr(), "--name", name,
		"--lease-ttl", ttl.String(), "--certs", filepath.Join(pc.Dir, "certs"), "--socket", pc.replicaSocket(name)},
		pc.opts.ManagerArgs...)
	p, err := pc.spawn("manager-"+name, exec.Command(filepath.Join(pc.Bin, "basalt-manager"), args...))
	if err != nil {
		return err
	}
	pc.replicas[name] = p
	return nil
}

// startEtcd runs Debian's etcd-server, one member on loopback, and waits
// (bounded) until it serves. Called with pc.mu held.
func (pc *ProcessCluster) startEtcd() error {
	bin, err := exec.LookPath("etcd")
	if err != nil {
		return fmt.Errorf("manager replicas need etcd (make deps installs Debian's etcd-server): %w", err)
	}
	if pc.etcdArgs == nil {
		ports, err := freePorts(2)
		if err != nil {
			return err
		}
		client, peer := fmt.Sprintf("http://127.0.0.1:%d", ports[0]), fmt.Sprintf("http://127.0.0.1:%d", ports[1])
		pc.etcdURL = client
		pc.etcdArgs = []string{bin, "--name", "e1", "--data-dir", filepath.Join(pc.Dir, "etcd"),
			"--listen-client-urls", client, "--advertise-client-urls", client,
			"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer, "--initial-cluster", "e1=" + peer}
	}
	p, err := pc.spawn("etcd", exec.Command(pc.etcdArgs[0], pc.etcdArgs[1:]...))
	if err != nil {
		return err
	}
	pc.etcd = p
	client := pc.etcdURL
	deadline := time.Now().Add(20 * time.Second)
	hc := &http.Client{Timeout: time.Second}
	for {
		resp, err := hc.Get(client + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if p.exited() || time.Now().After(deadline) {
			return fmt.Errorf("etcd did not serve within 20s (see %s)", filepath.Join(pc.Dir, "etcd.log"))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// freePorts asks the kernel for n loopback ports nobody listens on, all
// held until every one is known so that no two are the same.
func freePorts(n int) ([]int, error) {
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("free port: %w", err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// Replicas are the replicas' names, in order.
func (pc *ProcessCluster) Replicas() []string {
	var out []string
	for i := range pc.opts.Replicas {
		out = append(out, replicaName(i))
	}
	return out
}

// Leader is the replica whose admin socket says it leads, "" when none
// does (an election under way).
func (pc *ProcessCluster) Leader() string {
	for _, n := range pc.Replicas() {
		v, err := api.NewClientTimeout(pc.replicaSocket(n), 2*time.Second).Status()
		if err == nil && v.Role == api.RoleLeader {
			return n
		}
	}
	return ""
}

// ErrNoReplica is the error of a replica method given a name that is not a
// running replica's.
var ErrNoReplica = errors.New("no such replica running")

// signalReplica sends sig to replica name.
func (pc *ProcessCluster) signalReplica(name string, sig syscall.Signal) error {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	p := pc.replicas[name]
	if p == nil || p.exited() {
		return fmt.Errorf("replica %s: %w", name, ErrNoReplica)
	}
	if err := p.cmd.Process.Signal(sig); err != nil {
		return fmt.Errorf("replica %s: %w", name, err)
	}
	if sig == syscall.SIGKILL {
		<-p.done
	}
	return nil
}

// KillReplica kills replica name (kill -9): its lease lapses after its TTL.
func (pc *ProcessCluster) KillReplica(name string) error {
	return pc.signalReplica(name, syscall.SIGKILL)
}

// PauseReplica freezes replica name (SIGSTOP), with its lease and its
// agent connections as they are.
func (pc *ProcessCluster) PauseReplica(name string) error {
	return pc.signalReplica(name, syscall.SIGSTOP)
}

// ResumeReplica wakes a paused replica (SIGCONT).
func (pc *ProcessCluster) ResumeReplica(name string) error {
	return pc.signalReplica(name, syscall.SIGCONT)
}

// KillEtcd kills etcd (kill -9): the leader cannot renew its lease and
// stops acting; nobody leads until StartEtcd.
func (pc *ProcessCluster) KillEtcd() error {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if pc.etcd == nil || pc.etcd.exited() {
		return errors.New("etcd is not running")
	}
	_ = pc.etcd.cmd.Process.Kill()
	<-pc.etcd.done
	return nil
}

// StartEtcd starts etcd again, on its data and address, and waits until it
// serves.
func (pc *ProcessCluster) StartEtcd() error {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if pc.etcd != nil && !pc.etcd.exited() {
		return nil
	}
	return pc.startEtcd()
}

// CutReplicaFromEtcd cuts replica name's path to etcd both ways (or, with
// cut false, restores it); its paths to the agents stay as they are.
func (pc *ProcessCluster) CutReplicaFromEtcd(name string, cut bool) error {
	pc.mu.Lock()
	px := pc.etcdProxies[name]
	pc.mu.Unlock()
	if px == nil {
		return fmt.Errorf("replica %s: %w", name, ErrNoReplica)
	}
	if cut {
		return px.Partition()
	}
	return px.Heal()
}

// ReplicaLog is replica name's log.
func (pc *ProcessCluster) ReplicaLog(name string) string {
	return filepath.Join(pc.Dir, "manager-"+name+".log")
}

// replicaProcs are the replica processes and etcd, for Stop: replicas
// first (a clean stop resigns, which needs etcd). Called with pc.mu held.
func (pc *ProcessCluster) replicaProcs() (replicas []*process, etcd *process) {
	for _, n := range pc.Replicas() {
		if p := pc.replicas[n]; p != nil {
			replicas = append(replicas, p)
		}
	}
	return replicas, pc.etcd
}

// stopEtcd ends etcd once the replicas are gone. Called with pc.mu held.
func (pc *ProcessCluster) stopEtcd() {
	if pc.election != nil {
		pc.election.stop() // its tenures stay readable
	}
	if pc.etcd == nil {
		return
	}
	_ = pc.etcd.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-pc.etcd.done:
	case <-time.After(10 * time.Second):
		_ = pc.etcd.cmd.Process.Kill()
		<-pc.etcd.done
	}
	_ = os.RemoveAll(filepath.Join(pc.Dir, "etcd"))
	for _, px := range pc.etcdProxies {
		_ = px.Close()
	}
}

// With replicas, the manager faults strike the leader, as in the
// simulator: a crash is a kill -9 of the leading replica, a pause or a
// freeze a SIGSTOP of it until the fault ends; the standbys take over.

// crashLeader kills the leading replica, if one leads.
func (pc *ProcessCluster) crashLeader() {
	if l := pc.Leader(); l != "" {
		if err := pc.KillReplica(l); err != nil {
			pc.logf("crash leader: %v", err)
		}
	}
}

// restartReplicas starts every replica whose process has ended.
func (pc *ProcessCluster) restartReplicas() error {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	for _, n := range pc.Replicas() {
		if p := pc.replicas[n]; p == nil || p.exited() {
			if err := pc.startReplica(n); err != nil {
				return err
			}
		}
	}
	return nil
}

// pauseLeader freezes the leading replica (SIGSTOP).
func (pc *ProcessCluster) pauseLeader() error {
	l := pc.Leader()
	if l == "" {
		return fmt.Errorf("pause leader: none leads: %w", ErrNoManager)
	}
	return pc.PauseReplica(l)
}

// resumeReplicas wakes every replica (SIGCONT; a running one ignores it).
func (pc *ProcessCluster) resumeReplicas() {
	for _, n := range pc.Replicas() {
		if err := pc.ResumeReplica(n); err != nil && !errors.Is(err, ErrNoReplica) {
			pc.logf("resume replica: %v", err)
		}
	}
}

// healEtcd restarts etcd if it is down and gives every replica its path
// to it back (nothing without replicas).
func (pc *ProcessCluster) healEtcd() {
	if pc.opts.Replicas == 0 {
		return
	}
	if err := pc.StartEtcd(); err != nil {
		pc.logf("heal: %v", err)
	}
	for _, n := range pc.Replicas() {
		if err := pc.CutReplicaFromEtcd(n, false); err != nil {
			pc.logf("heal: %v", err)
		}
	}
}

var (
	logTime  = regexp.MustCompile(`^time=(\S+)`)
	logMsg   = regexp.MustCompile(` msg=("(?:[^"\\]|\\.)*"|\S+)`)
	logEpoch = regexp.MustCompile(` epoch=(\d+)`)
)

// ReplicaLeaderships is the process world's view of what the simulator
// records for the leadership judge (check.CheckLeadership): the tenures as
// etcd's election had them (a watch from the first revision), and each
// replica manager's acts, the operations it dispatched as its log says,
// under the leadership it last logged.
func (pc *ProcessCluster) ReplicaLeaderships() ([]check.LeaderAct, []check.Tenure, error) {
	pc.mu.Lock()
	w := pc.election
	pc.mu.Unlock()
	if w == nil {
		return nil, nil, errors.New("no election to judge: the cluster runs without replicas")
	}
	var acts []check.LeaderAct
	for _, n := range pc.Replicas() {
		data, err := os.ReadFile(pc.ReplicaLog(n))
		if err != nil {
			return nil, nil, fmt.Errorf("replica %s's log: %w", n, err)
		}
		acts = append(acts, replicaActs(n, string(data))...)
	}
	sort.SliceStable(acts, func(i, j int) bool { return acts[i].At.Before(acts[j].At) })
	return acts, w.Tenures(), nil
}

// replicaActs reads one replica's log: the operations its manager
// dispatched, each under the leadership (the epoch of the "elected" line)
// it last logged.
func replicaActs(name, log string) []check.LeaderAct {
	var acts []check.LeaderAct
	var rev int64
	for _, line := range strings.Split(log, "\n") {
		tm, msg := logTime.FindStringSubmatch(line), logMsg.FindStringSubmatch(line)
		if tm == nil || msg == nil {
			continue
		}
		at, err := time.Parse(time.RFC3339Nano, tm[1])
		if err != nil {
			continue
		}
		switch m := strings.Trim(msg[1], `"`); {
		case strings.HasPrefix(m, "elected:"):
			if e := logEpoch.FindStringSubmatch(line); e != nil {
				rev, _ = strconv.ParseInt(e[1], 10, 64)
			}
		case m == "dispatching":
			acts = append(acts, check.LeaderAct{At: at, Name: name, Rev: rev, Epoch: uint64(rev), What: line})
		}
	}
	return acts
}
