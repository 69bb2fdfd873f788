package harness

import (
	"bufio"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Link is one host's manager↔agent network path, with the faults the
// process harness injects on it. A Proxy (bytes in user space, on
// loopback) and a NetnsLink (a veth pair into the host's own network
// namespace, packets dropped by the kernel) both are one.
type Link interface {
	// Drop cuts one direction (ToTarget or FromTarget), or restores it.
	Drop(direction int, on bool) error
	// Delay slows one direction by d (0 removes the delay).
	Delay(direction int, d time.Duration) error
	// Partition cuts both directions.
	Partition() error
	// Heal restores both directions and removes delays.
	Heal() error
	// Close removes the link.
	Close() error
}

// Networks a ProcessCluster can give its agents.
const (
	// NetLoopback: the manager dials each agent on its own 127.0.0.x
	// address; no network faults.
	NetLoopback = ""
	// NetProxy: a fault-injecting TCP proxy sits between the manager and
	// each agent.
	NetProxy = "proxy"
	// NetNetns: each agent runs in its own network namespace, reached
	// through a veth pair whose qdiscs drop packets: real partitions, in
	// which TCP retransmits and connections stall or resume as on a real
	// network. It needs root and iproute2 (NetnsAvailable).
	NetNetns = "netns"
)

// ErrUnsupported is returned for a fault the link cannot inject on this
// machine. It wraps errors.ErrUnsupported, as every fault a world cannot
// inject does (see faults.Unsupported).
var ErrUnsupported = fmt.Errorf("not supported on this machine: %w", errors.ErrUnsupported)

// AgentPort is where an agent listens inside its own network namespace:
// every namespace has its own ports, so all agents share it.
const AgentPort = 7789

// The links' addresses: one /30 per link out of 198.18.0.0/15, the block
// set aside for network tests (RFC 2544), so they never clash with a real
// network the machine is on.
var (
	netnsBase  = netip.MustParseAddr("198.18.0.0")
	netnsSlots = 1 << 15 // /15 in /30s
)

var netnsCheck struct {
	once sync.Once
	err  error
}

// NetnsAvailable says why network namespaces cannot be used here (nil
// when they can): they need root, ip and tc from iproute2, and a kernel
// that lets this process create one.
func NetnsAvailable() error {
	netnsCheck.once.Do(func() {
		if os.Geteuid() != 0 {
			netnsCheck.err = errors.New("network namespaces need root")
			return
		}
		for _, tool := range []string{"ip", "tc"} {
			if _, err := exec.LookPath(tool); err != nil {
				netnsCheck.err = fmt.Errorf("network namespaces need %s (Debian package iproute2): %w", tool, err)
				return
			}
		}
		name := fmt.Sprintf("basalt-probe-%d", os.Getpid())
		if err := run("ip", "netns", "add", name); err != nil {
			netnsCheck.err = fmt.Errorf("network namespaces: %w", err)
			return
		}
		if err := run("ip", "netns", "del", name); err != nil {
			netnsCheck.err = fmt.Errorf("network namespaces: %w", err)
		}
	})
	return netnsCheck.err
}

// NetnsLink is a host's own network namespace, joined to the root
// namespace (where the manager runs) by a veth pair. Drops are pfifo
// qdiscs of length zero on a veth's egress, which every kernel with
// network namespaces has: the outer end's for manager→agent, the inner
// end's for agent→manager. Delays need the netem qdisc; without it Delay
// returns ErrUnsupported. Both ends' neighbours are static, so that a cut
// of one direction does not also starve the other of ARP replies.
type NetnsLink struct {
	// NS is the namespace's name (for ip netns exec).
	NS string
	// Outer and Inner are the veth ends in the root namespace and in NS;
	// OuterIP and InnerIP their addresses.
	Outer, Inner     string
	OuterIP, InnerIP netip.Addr

	mu    sync.Mutex
	drop  [2]bool
	delay [2]time.Duration
}

// NewNetnsLink creates a namespace and its veth pair, on the first free
// /30 of 198.18.0.0/15. Links of concurrent test binaries are told apart
// under a lock file; namespaces left by a test binary that died are
// removed first.
func NewNetnsLink() (*NetnsLink, error) {
	if err := NetnsAvailable(); err != nil {
		return nil, err
	}
	unlock, err := lockFile(filepath.Join(os.TempDir(), "basalt-netns.lock"))
	if err != nil {
		return nil, fmt.Errorf("netns link: %w", err)
	}
	defer unlock()
	removeOrphanNamespaces()
	used, err := usedAddrs()
	if err != nil {
		return nil, fmt.Errorf("netns link: %w", err)
	}
	slot := -1
	for k := 0; k < netnsSlots; k++ {
		if !used[slotAddr(k, 1)] && !used[slotAddr(k, 2)] {
			slot = k
			break
		}
	}
	if slot < 0 {
		return nil, errors.New("netns link: no free /30 in 198.18.0.0/15")
	}
	l := &NetnsLink{
		NS:    fmt.Sprintf("basalt-%d-%d", slot, os.Getpid()),
		Outer: fmt.Sprintf("bsl%da", slot), Inner: fmt.Sprintf("bsl%db", slot),
		OuterIP: slotAddr(slot, 1), InnerIP: slotAddr(slot, 2),
	}
	// Locally administered MACs, fixed per slot, for the static neighbours.
	mac := func(end byte) string {
		return fmt.Sprintf("02:ba:5a:%02x:%02x:%02x", byte(slot>>8), byte(slot), end)
	}
	steps := [][]string{
		{"ip", "netns", "add", l.NS},
		{"ip", "link", "add", l.Outer, "address", mac(1), "type", "veth", "peer", "name", l.Inner, "address", mac(2), "netns", l.NS},
		{"ip", "addr", "add", l.OuterIP.String() + "/30", "dev", l.Outer},
		{"ip", "link", "set", l.Outer, "up"},
		{"ip", "-n", l.NS, "addr", "add", l.InnerIP.String() + "/30", "dev", l.Inner},
		{"ip", "-n", l.NS, "link", "set", l.Inner, "up"},
		{"ip", "-n", l.NS, "link", "set", "lo", "up"},
		{"ip", "neigh", "replace", l.InnerIP.String(), "lladdr", mac(2), "dev", l.Outer, "nud", "permanent"},
		{"ip", "-n", l.NS, "neigh", "replace", l.OuterIP.String(), "lladdr", mac(1), "dev", l.Inner, "nud", "permanent"},
	}
	for _, s := range steps {
		if err := run(s[0], s[1:]...); err != nil {
			l.remove()
			return nil, fmt.Errorf("netns link %s: %w", l.NS, err)
		}
	}
	return l, nil
}

// Addr is the agent's listen address inside the namespace, which the
// manager dials.
func (l *NetnsLink) Addr() string {
	return netip.AddrPortFrom(l.InnerIP, AgentPort).String()
}

// Command runs path with args inside the namespace. ip netns exec execs
// the program itself, so the process's PID is the program's: kill -9 and
// SIGSTOP reach it directly.
func (l *NetnsLink) Command(path string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", l.NS, path}, args...)...)
}

// Drop cuts one direction, or restores it.
func (l *NetnsLink) Drop(direction int, on bool) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.drop[direction] = on
	return l.apply(direction)
}

// Delay slows one direction by d; it needs the netem qdisc.
func (l *NetnsLink) Delay(direction int, d time.Duration) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	old := l.delay[direction]
	l.delay[direction] = d
	if err := l.apply(direction); err != nil {
		l.delay[direction] = old
		return err
	}
	return nil
}

// Partition cuts both directions.
func (l *NetnsLink) Partition() error {
	return errors.Join(l.Drop(ToTarget, true), l.Drop(FromTarget, true))
}

// Heal restores both directions and removes delays.
func (l *NetnsLink) Heal() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.drop, l.delay = [2]bool{}, [2]time.Duration{}
	return errors.Join(l.apply(ToTarget), l.apply(FromTarget))
}

// Close removes the veth pair and the namespace. Processes still inside
// keep the namespace alive, without its name, until they exit.
func (l *NetnsLink) Close() error { return l.remove() }

func (l *NetnsLink) remove() error {
	// Deleting one end of a veth pair deletes both.
	_ = run("ip", "link", "del", l.Outer)
	return run("ip", "netns", "del", l.NS)
}

// apply sets one direction's qdisc to what its state says. Called with
// l.mu held.
func (l *NetnsLink) apply(direction int) error {
	tc := []string{"tc"}
	dev := l.Outer
	if direction == FromTarget {
		tc, dev = []string{"tc", "-n", l.NS}, l.Inner
	}
	var args []string
	switch {
	case l.drop[direction]:
		// A FIFO that holds nothing: every packet is dropped at once.
		args = []string{"qdisc", "replace", "dev", dev, "root", "pfifo", "limit", "0"}
	case l.delay[direction] > 0:
		args = []string{"qdisc", "replace", "dev", dev, "root", "netem", "delay",
			strconv.FormatInt(l.delay[direction].Microseconds(), 10) + "us"}
	default:
		// Back to the veth's default (no queue). Deleting a root qdisc
		// that is not there fails; that is the state wanted.
		_ = run(tc[0], append(tc[1:], "qdisc", "del", "dev", dev, "root")...)
		return nil
	}
	if err := run(tc[0], append(tc[1:], args...)...); err != nil {
		if l.delay[direction] > 0 && !l.drop[direction] && strings.Contains(err.Error(), "qdisc kind is unknown") {
			return fmt.Errorf("delay on %s: the kernel has no netem qdisc: %w", l.NS, ErrUnsupported)
		}
		return fmt.Errorf("link %s: %w", l.NS, err)
	}
	return nil
}

// slotAddr is address n (1 or 2) of /30 number k.
func slotAddr(k, n int) netip.Addr {
	b := netnsBase.As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	v += uint32(4*k + n)
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// usedAddrs are the IPv4 addresses of the root namespace's interfaces.
func usedAddrs() (map[netip.Addr]bool, error) {
	out, err := exec.Command("ip", "-4", "-o", "addr", "show").Output()
	if err != nil {
		return nil, fmt.Errorf("ip addr show: %w", err)
	}
	used := map[netip.Addr]bool{}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		for i := 0; i+1 < len(f); i++ {
			if f[i] == "inet" {
				if p, err := netip.ParsePrefix(f[i+1]); err == nil {
					used[p.Addr()] = true
				}
			}
		}
	}
	return used, nil
}

// removeOrphanNamespaces deletes the namespaces (and veth pairs) of test
// binaries that died without closing their links: a name basalt-SLOT-PID
// whose PID is gone.
func removeOrphanNamespaces() {
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		parts := strings.Split(f[0], "-")
		if len(parts) != 3 || parts[0] != "basalt" {
			continue
		}
		slot, err1 := strconv.Atoi(parts[1])
		pid, err2 := strconv.Atoi(parts[2])
		if err1 != nil || err2 != nil || pid <= 0 {
			continue
		}
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			continue
		}
		_ = run("ip", "link", "del", fmt.Sprintf("bsl%da", slot))
		_ = run("ip", "netns", "del", f[0])
	}
}

// lockFile takes an exclusive lock on path, waiting for it; the returned
// function releases it.
func lockFile(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}

// run runs a command, its output in the error when it fails.
func run(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}
