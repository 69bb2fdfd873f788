package harness

import (
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/basalt-ha/basalt/harness/check"
)

// Truth watches every host's runtime directories of a ProcessCluster and
// feeds the safety checker: the ground truth of the real cluster, as the
// simulator's files are of the simulated one. It reads the statefile
// agent's files (active or not, promoted while its role marker is there),
// and those of the example agents Debian ships: Dummy's (active or not),
// and Stateful's, which say the role too:
// ocf:pacemaker:Stateful's in the host's HA_VARRUN ("Promoted" or
// "Unpromoted"), ocf:heartbeat:Stateful's in its HA_RSCTMP ("master" or
// "slave"). Polling can miss an
// overlap shorter than its period; it does not invent one (see poll).
type Truth struct {
	mu      sync.Mutex
	safety  *check.Safety
	changes []check.Change
	roles   []RoleChange
	state   map[string]seen
	stop    chan struct{}
	done    chan struct{}
}

// RoleChange is one change of a promotable instance's role as a host's
// state file showed it: every one the watcher saw, in order.
type RoleChange struct {
	At             time.Time
	Host, Resource string
	Promoted       bool
}

// seen is what one look found of a resource on a host: active, and if
// its state file tells roles, promoted or not.
type seen struct {
	active, promoted bool
	// unknown: the file was being rewritten, its role not to be read.
	unknown bool
}

// truthPeriod is how often the directories are read: short against any
// overlap a real fault makes (a start takes milliseconds at least, a fence
// hundreds), cheap on a two-core machine.
const truthPeriod = 5 * time.Millisecond

// WatchTruth starts watching. limits are the resources' instance limits
// (1 unless a clone); the promotable clones' promoted-max come from the
// cluster's model. Close stops the watcher.
func WatchTruth(pc *ProcessCluster, limits map[string]int) *Truth {
	w := &Truth{safety: check.NewSafety(limits), state: map[string]seen{}, stop: make(chan struct{}), done: make(chan struct{})}
	if pc.Model != nil {
		for r, n := range check.PromotedLimits(pc.Model) {
			w.safety.SetPromotedLimit(r, n)
		}
	}
	go func() {
		defer close(w.done)
		tick := time.NewTicker(truthPeriod)
		defer tick.Stop()
		for {
			w.poll(pc)
			select {
			case <-w.stop:
				w.poll(pc) // the state at the end counts too
				return
			case <-tick.C:
			}
		}
	}()
	return w
}

// look reads every host's directories once: host/resource → what is there.
func look(pc *ProcessCluster) map[string]seen {
	out := map[string]seen{}
	for _, h := range pc.Hosts {
		files := pc.StateFiles(h)
		for _, f := range files {
			if r, ok := strings.CutPrefix(f, "statefile-"); ok && strings.HasSuffix(r, ".state") {
				out[h+"/"+resourceOf(strings.TrimSuffix(r, ".state"))] = seen{active: true}
			}
		}
		for _, f := range files {
			// The statefile agent's role marker counts with its state file.
			r, ok := strings.CutPrefix(f, "statefile-")
			if k := h + "/" + resourceOf(strings.TrimSuffix(r, ".state.promoted")); ok && strings.HasSuffix(r, ".state.promoted") && out[k].active {
				out[k] = seen{active: true, promoted: true}
			}
		}
		for _, d := range []string{pc.ResourceDir(h), pc.VarRunDir(h)} {
			lookDebian(d, h, out)
		}
	}
	return out
}

// lookDebian adds the state files in dir of the example agents Debian
// ships: Stateful's, which tell the role, and Dummy's, which only exist.
// A Stateful file being rewritten (empty for an instant) is active in the
// role it had.
func lookDebian(dir, h string, out map[string]seen) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".state")
		if !ok {
			continue
		}
		if inst, ok := strings.CutPrefix(name, "Dummy-"); ok {
			out[h+"/"+resourceOf(inst)] = seen{active: true}
			continue
		}
		inst, ok := strings.CutPrefix(name, "Stateful-")
		if !ok {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			continue // removed between the listing and the read
		}
		s := seen{active: true}
		switch strings.TrimSpace(string(b)) {
		case "Promoted", "master":
			s.promoted = true
		case "":
			s.unknown = true
		}
		out[h+"/"+resourceOf(inst)] = s
	}
}

// known is what s says, with the role of old where s could not tell it.
func (s seen) known(old seen) seen {
	if s.unknown {
		s.promoted, s.unknown = old.promoted, false
	}
	return s
}

// poll looks twice, one look right after the other, and applies what
// ended (in either look) before what began (in both): a host read early
// in a look that still showed an instance promoted, and one read later
// that showed another promoted after the first's fence, are no overlap,
// and the second look, which reads the first host again, says so. What
// began counts only once both looks show it, so anything still shown by
// the second look overlapped it for real.
func (w *Truth) poll(pc *ProcessCluster) {
	a := look(pc)
	now := time.Now()
	b := look(pc)
	w.mu.Lock()
	defer w.mu.Unlock()
	keys := make([]string, 0, len(a)+len(w.state))
	for _, m := range []map[string]seen{a, b, w.state} {
		for k := range m { // purity:unordered sorted below
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	keys = slices.Compact(keys)
	for _, k := range keys { // what ended
		old := w.state[k]
		na, nb := a[k].known(old), b[k].known(old)
		cur := old
		if old.active && !(na.active && nb.active) {
			cur = seen{}
		} else if old.promoted && !(na.promoted && nb.promoted) {
			cur.promoted = false
		}
		w.apply(now, k, old, cur)
	}
	for _, k := range keys { // what began
		old := w.state[k]
		na, nb := a[k].known(old), b[k].known(old)
		cur := old
		cur.active = old.active || (na.active && nb.active)
		cur.promoted = cur.active && (old.promoted || (na.promoted && nb.promoted))
		w.apply(now, k, old, cur)
	}
}

// apply records the change from old to cur of key (host/resource).
func (w *Truth) apply(at time.Time, key string, old, cur seen) {
	h, r, _ := strings.Cut(key, "/")
	if cur.active != old.active {
		w.safety.Observe(at, h, r, cur.active)
		w.changes = append(w.changes, check.Change{At: at, Host: h, Resource: r, Active: cur.active})
	}
	if cur.promoted != old.promoted {
		if cur.active {
			w.safety.ObserveRole(at, h, r, cur.promoted) // a stop ended the role already
		}
		w.roles = append(w.roles, RoleChange{At: at, Host: h, Resource: r, Promoted: cur.promoted})
	}
	if cur == (seen{}) {
		delete(w.state, key)
		return
	}
	w.state[key] = cur
}

// Close stops the watcher after a last look.
func (w *Truth) Close() {
	select {
	case <-w.done:
	default:
		close(w.stop)
		<-w.done
	}
}

// Active reports whether rsc was active on h at the last look.
func (w *Truth) Active(h, rsc string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.state[h+"/"+rsc].active
}

// Promoted reports whether rsc was promoted on h at the last look (its
// Stateful state file said so).
func (w *Truth) Promoted(h, rsc string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.state[h+"/"+rsc].promoted
}

// Roles are the role changes seen so far, in order.
func (w *Truth) Roles() []RoleChange {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]RoleChange(nil), w.roles...)
}

// Violations are the safety violations seen so far.
func (w *Truth) Violations() []check.Violation {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]check.Violation(nil), w.safety.Violations...)
}

// Changes are the ground-truth changes seen so far, for the timeline.
func (w *Truth) Changes() []check.Change {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]check.Change(nil), w.changes...)
}

// resourceOf is the resource a state file's instance names: a clone
// instance's "id:N" (the statefile agent's default file is named after
// OCF_RESOURCE_INSTANCE) names id.
func resourceOf(instance string) string {
	if i := strings.LastIndexByte(instance, ':'); i > 0 {
		if n := instance[i+1:]; n != "" && strings.Trim(n, "0123456789") == "" {
			return instance[:i]
		}
	}
	return instance
}
