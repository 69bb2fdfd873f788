package check

import (
	"fmt"
	"sort"
	"time"
)

// Tenure is one leadership as the coordination store saw it: Name's
// election key, created at revision Rev, was the oldest under the election
// prefix (the leader) from From until To (zero: until the end of the run).
type Tenure struct {
	Rev      int64
	Name     string
	From, To time.Time
}

// LeaderAct is something a manager replica did in the world while it
// believed it led: a message to an agent, or a write of the cluster's
// state. Rev is the leadership it acted under, Epoch its manager's epoch.
type LeaderAct struct {
	At    time.Time
	Name  string
	Rev   int64
	Epoch uint64
	What  string
}

// CheckLeadership is manager high availability seen from the store: a
// replica acts only inside its own tenure (a deposed leader, or one whose
// lease the store has expired, never acts: the lease is what keeps two
// leaders apart, the agents' epoch guard is only the last line), and no
// two replicas act under one manager epoch.
func CheckLeadership(acts []LeaderAct, tenures []Tenure) []Violation {
	byRev := map[int64]Tenure{}
	for _, t := range tenures {
		byRev[t.Rev] = t
	}
	var out []Violation
	owner := map[uint64]string{}
	reported := map[string]bool{}
	for _, a := range acts {
		if prev, ok := owner[a.Epoch]; ok && prev != a.Name && !reported["epoch "+prev+a.Name] {
			reported["epoch "+prev+a.Name] = true
			out = append(out, Violation{At: a.At, Checker: "leadership",
				Message: fmt.Sprintf("%s and %s both acted at manager epoch %d", prev, a.Name, a.Epoch)})
		}
		owner[a.Epoch] = a.Name
		t, ok := byRev[a.Rev]
		inside := ok && t.Name == a.Name && !a.At.Before(t.From) && (t.To.IsZero() || a.At.Before(t.To))
		if inside || reported[fmt.Sprint(a.Name, a.Rev)] {
			continue
		}
		// One report per leadership: a replica that acts out of its
		// tenure usually goes on doing so.
		reported[fmt.Sprint(a.Name, a.Rev)] = true
		why := "that leadership never was"
		switch {
		case ok && a.At.Before(t.From):
			why = fmt.Sprintf("its leadership began only at %s", t.From.Format(time.TimeOnly+".000"))
		case ok:
			why = fmt.Sprintf("its leadership ended at %s", t.To.Format(time.TimeOnly+".000"))
		}
		out = append(out, Violation{At: a.At, Checker: "leadership",
			Message: fmt.Sprintf("%s acted outside its leadership (revision %d, epoch %d): %s; %s", a.Name, a.Rev, a.Epoch, a.What, why)})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out
}
