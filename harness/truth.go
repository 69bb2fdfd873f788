package harness

import (
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/basalt-ha/basalt/harness/check"
)

// Truth watches every host's runtime directory of a ProcessCluster and
// feeds the safety checker: the ground truth of the real cluster, as the
// simulator's files are of the simulated one. Polling can miss an overlap
// shorter than its period; it cannot invent one.
type Truth struct {
	mu      sync.Mutex
	safety  *check.Safety
	changes []check.Change
	state   map[string]bool
	stop    chan struct{}
	done    chan struct{}
}

// truthPeriod is how often the directories are read: short against any
// overlap a real fault makes (a start takes milliseconds at least, a fence
// hundreds), cheap on a two-core machine.
const truthPeriod = 5 * time.Millisecond

// WatchTruth starts watching. limits are the resources' instance limits
// (1 unless a clone); Close stops the watcher.
func WatchTruth(pc *ProcessCluster, limits map[string]int) *Truth {
	w := &Truth{safety: check.NewSafety(limits), state: map[string]bool{}, stop: make(chan struct{}), done: make(chan struct{})}
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

func (w *Truth) poll(pc *ProcessCluster) {
	now := time.Now()
	seen := map[string]bool{}
	for _, h := range pc.Hosts {
		for _, f := range pc.StateFiles(h) {
			if r, ok := strings.CutPrefix(f, "statefile-"); ok && strings.HasSuffix(r, ".state") {
				seen[h+"/"+resourceOf(strings.TrimSuffix(r, ".state"))] = true
			}
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	keys := make([]string, 0, len(seen)+len(w.state))
	for k := range seen {
		keys = append(keys, k)
	}
	for k := range w.state {
		if !seen[k] {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		if seen[k] != w.state[k] {
			h, r, _ := strings.Cut(k, "/")
			w.safety.Observe(now, h, r, seen[k])
			w.changes = append(w.changes, check.Change{At: now, Host: h, Resource: r, Active: seen[k]})
			w.state[k] = seen[k]
		}
	}
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
	return w.state[h+"/"+rsc]
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
