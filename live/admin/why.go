package admin

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/basalt-ha/basalt/core/model"
	"github.com/basalt-ha/basalt/core/planner"
	"github.com/basalt-ha/basalt/live/api"
)

// The planner's score terms (core/planner, plan.go: scoreMove,
// scoreNoFailback, scoreDomainBase, scorePriority). The planner says which
// terms make a host's score but not their values, and core/ is not to
// change for a display, so they are restated here. TestWhyPartsAddUp plans
// through the real planner and fails when these drift from it; at run time
// a difference shows as its own part, never as a wrong sum.
const (
	scoreMove       = 100_000_000
	scoreNoFailback = 10_000_000
	scoreDomainBase = 1_000_000
	scorePriority   = 1_000
)

// whyView breaks a group's placement into words: for each host the
// planner scored, the parts of its score, each with its value, and the
// total; for each host it excluded, why. fails are the group's members'
// failure records by resource and host, for the fail counts that do not
// (yet) exclude a host.
func whyView(m *model.Model, pl planner.Placement, text string, fails map[string]map[string]planner.Failure, now time.Time) api.WhyView {
	v := api.WhyView{Group: pl.Group, Why: text, Placed: pl.Hosts, Note: pl.Note, Scores: []api.HostScore{},
		Promoted: pl.Promoted, Promotion: pl.Promotion}
	g, _ := m.Group(pl.Group)
	for _, line := range pl.Scores.All() {
		host, rest, ok := strings.Cut(line, ": ")
		if !ok {
			continue
		}
		hs := api.HostScore{Host: host, Parts: []api.ScorePart{}}
		for _, c := range pl.Hosts {
			hs.Chosen = hs.Chosen || c == host
		}
		if why, excluded := strings.CutPrefix(rest, "excluded: "); excluded {
			hs.Parts = append(hs.Parts, api.ScorePart{What: exclusion(pl.Group, why), NotAllowed: true})
			v.Scores = append(v.Scores, hs)
			continue
		}
		hs.Allowed = true
		total, terms := scoreLine(rest)
		hs.Total = total
		sum := 0
		sticky := false
		for _, t := range terms {
			p := scorePart(t)
			sticky = sticky || strings.HasPrefix(t, "stickiness ")
			sum += p.Value
			hs.Parts = append(hs.Parts, p)
		}
		if g != nil && g.Placement.Stickiness > 0 && !sticky {
			hs.Parts = append(hs.Parts, api.ScorePart{What: fmt.Sprintf("stickiness %d: only where it runs healthy, and it does not run here", g.Placement.Stickiness)})
		}
		if g != nil {
			hs.Parts = append(hs.Parts, failCounts(g, host, fails, now)...)
		}
		if sum != total {
			hs.Parts = append(hs.Parts, api.ScorePart{What: "the rest of the planner's score (a term this basalt does not know)", Value: total - sum})
		}
		v.Scores = append(v.Scores, hs)
	}
	return v
}

// scoreLine reads "score N (term, term, ...)".
func scoreLine(s string) (int, []string) {
	s = strings.TrimPrefix(s, "score ")
	num, terms, _ := strings.Cut(s, " (")
	total, _ := strconv.Atoi(num)
	terms = strings.TrimSuffix(terms, ")")
	if terms == "" {
		return total, nil
	}
	return total, strings.Split(terms, ", ")
}

// scorePart is one of the planner's terms in words, with its value.
func scorePart(term string) api.ScorePart {
	var n int
	switch {
	case sscan(term, "domain priority %d", &n):
		return api.ScorePart{Value: scoreDomainBase - n*scorePriority,
			What: fmt.Sprintf("preference of the failover domain: priority %d (%d, less %d per priority step)", n, scoreDomainBase, scorePriority)}
	case term == "outside the domain":
		return api.ScorePart{What: "outside the failover domain (unrestricted: allowed, no preference)"}
	case term == "runs here (no failback)":
		return api.ScorePart{Value: scoreNoFailback, What: "runs here and failback is off: it stays where it runs"}
	case sscan(term, "stickiness %d", &n):
		return api.ScorePart{Value: n, What: "stickiness: it runs here, healthy"}
	case term == "move requested":
		return api.ScorePart{Value: scoreMove, What: "move requested by an administrator: it prefers this host (basalt resource clear lifts it)"}
	}
	return api.ScorePart{What: term}
}

func sscan(s, format string, args ...any) bool {
	n, err := fmt.Sscanf(s, format, args...)
	return err == nil && n == len(args)
}

// exclusion says in words why a host may not run the group: which kind of
// rule forbids it, then the planner's reason.
func exclusion(group, why string) string {
	switch {
	case strings.HasPrefix(why, "banned by an administrator"):
		return "ban: banned by an administrator (basalt resource clear " + group + " lifts it)"
	case strings.HasPrefix(why, "host in standby"):
		return "standby: " + why
	case strings.HasPrefix(why, "host "):
		return "not allowed: the " + why + ", not online"
	case strings.Contains(why, "times here (threshold"):
		return "fail count: " + why + ", at the migration threshold (basalt resource cleanup " + group + " forgets it)"
	case strings.Contains(why, "hard failure"):
		return "fail count: " + why + ": a start failed or the agent said it cannot run here (basalt resource cleanup " + group + " forgets it)"
	case why == "outside the restricted domain":
		return "not allowed: outside the group's restricted failover domain"
	case strings.HasPrefix(why, "to be fenced"), strings.HasPrefix(why, "a fence of this host"):
		return "fencing: " + why
	}
	return "not allowed: " + why
}

// failCounts are the members' fail counts on host that do not exclude it:
// the planner gives them no score (Pacemaker neither, below the
// migration threshold); it bans the host at the threshold instead.
func failCounts(g *model.Group, host string, fails map[string]map[string]planner.Failure, now time.Time) []api.ScorePart {
	var out []api.ScorePart
	pol := g.Placement
	threshold := pol.MigrationThreshold
	if pol.Recovery == model.RecoveryRelocate {
		threshold = 1
	}
	for _, r := range g.StartOrder() {
		f, ok := fails[r][host]
		if !ok || f.Count == 0 {
			continue
		}
		what := fmt.Sprintf("fail count of %s here: %d", r, f.Count)
		switch {
		case pol.FailureTimeout > 0 && !f.Last.IsZero() && now.Sub(f.Last) >= pol.FailureTimeout:
			what += fmt.Sprintf(", expired (failure-timeout %s): no penalty", pol.FailureTimeout)
		case threshold > 0:
			what += fmt.Sprintf(" of the migration threshold %d: no penalty until it is reached, then the host is banned", threshold)
		default:
			what += ": no migration threshold, it restarts in place (no penalty)"
		}
		out = append(out, api.ScorePart{What: what})
	}
	return out
}
