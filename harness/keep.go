package harness

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/basalt-ha/basalt/harness/check"
)

// Record is what a run on real processes leaves for its reader: the
// ground-truth changes and marks (the timeline), the operation history,
// and the linearizability verdicts.
type Record struct {
	Title     string
	Hosts     []string
	Resources []string
	Changes   []check.Change
	Marks     []check.Mark
	// HostEvents are the managers' view of the hosts (lost, fencing), from
	// their logs, for the timeline's host lanes.
	HostEvents []check.HostEvent
	Start, End time.Time
	Ops        []check.Op
	Lin        []check.LinResult
	// Managers are, with replicas, the leaderships as etcd's election had
	// them, for the timeline's manager lane.
	Managers []check.ManagerEvent
}

// Keep writes into dir every process's log and the realized configuration
// from runDir, the history (history.json), the timeline (timeline.html)
// and, per resource that was not linearizable, porcupine's page.
func (r Record) Keep(runDir, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("keep %s: %w", dir, err)
	}
	files, _ := filepath.Glob(filepath.Join(runDir, "*.log"))
	files = append(files, filepath.Join(runDir, "cluster.yaml"))
	for _, f := range files {
		if data, err := os.ReadFile(f); err == nil {
			if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), data, 0o644); err != nil {
				return fmt.Errorf("keep %s: %w", f, err)
			}
		}
	}
	hist, err := json.MarshalIndent(r.Ops, "", " ")
	if err != nil {
		return fmt.Errorf("keep history: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "history.json"), hist, 0o644); err != nil {
		return fmt.Errorf("keep history: %w", err)
	}
	if err := writeFile(filepath.Join(dir, "timeline.html"), func(f *os.File) error {
		return check.WriteTimeline(f, r.Title, r.Hosts, r.Resources, check.Intervals(r.Changes), r.Marks, r.HostEvents, r.Managers, r.Start, r.End)
	}); err != nil {
		return err
	}
	for _, l := range r.Lin {
		if !l.OK {
			if err := writeFile(filepath.Join(dir, "linearizability-"+l.Resource+".html"), func(f *os.File) error { return l.WriteHTML(f) }); err != nil {
				return err
			}
		}
	}
	return nil
}

func writeFile(path string, fill func(f *os.File) error) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("keep: %w", err)
	}
	err = fill(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("keep %s: %w", path, err)
	}
	return nil
}

// Finish closes the truth watcher and checks the run: the safety
// violations the watcher saw, and the linearizability of the agents'
// operation history against the ownership model. It returns the record of
// the run and every violation found.
func Finish(pc *ProcessCluster, truth *Truth, title string, start time.Time) (Record, []check.Violation, error) {
	truth.Close()
	rec := Record{Title: title, Hosts: pc.Hosts, Changes: truth.Changes(), Marks: pc.Marks(), Start: start, End: time.Now()}
	for _, g := range pc.Model.Groups {
		rec.Resources = append(rec.Resources, g.Resources()...)
	}
	// Read before anything can fail, so that even a record returned with
	// an error draws the managers' view of the hosts.
	var fenceMarks []check.Mark
	rec.HostEvents, fenceMarks = check.ManagerLogLane(pc.ManagerLogs())
	rec.Marks = append(rec.Marks, fenceMarks...)
	violations := truth.Violations()
	ops, err := pc.Ops()
	if err != nil {
		return rec, violations, err
	}
	rec.Ops = ops
	rec.Managers = pc.LeaderLane()
	rec.Lin = check.CheckOwnership(ops, check.Limits(pc.Model))
	for _, l := range rec.Lin {
		if !l.OK {
			violations = append(violations, check.Violation{At: rec.End, Checker: "linearizability",
				Message: fmt.Sprintf("the operations on %s are not linearizable against the ownership model (%d operations)", l.Resource, l.Ops)})
		}
	}
	return rec, violations, nil
}
