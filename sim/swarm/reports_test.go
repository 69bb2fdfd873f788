package swarm

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/manager"
)

// TestCheckReportsKnowsTheManagersBound: a report the manager forgot
// because more than MaxReports were opened after it is not lost (a
// 256-host cluster's heal asks over a thousand requests at once, and the
// judge called the oldest lost); a report missing among the last
// MaxReports is, and one still open at the end never closed.
func TestCheckReportsKnowsTheManagersBound(t *testing.T) {
	const extra = 6
	var ids []string
	kept := map[string]manager.Report{}
	for i := range manager.MaxReports + extra {
		id := fmt.Sprintf("r1-%d", i+1)
		ids = append(ids, id)
		if i >= extra { // the manager remembers the last MaxReports
			kept[id] = manager.Report{ID: id, State: manager.ReportClosed}
		}
	}
	ids = append(ids[:3:3], append([]string{""}, ids[3:]...)...) // a refused request has no report
	lookup := func(id string) (manager.Report, bool) { r, ok := kept[id]; return r, ok }
	require.Empty(t, checkReports(time.Time{}, ids[1:], lookup), "the oldest were forgotten by the bound")

	delete(kept, ids[len(ids)-1])
	open := ids[len(ids)-2]
	kept[open] = manager.Report{ID: open, State: manager.ReportOpen, Request: "clear g1"}
	v := checkReports(time.Time{}, ids[1:], lookup)
	require.Len(t, v, 2)
	require.Contains(t, v[0].Message, "was lost") // newest first
	require.Contains(t, v[1].Message, "never closed")

	delete(kept, ids[len(ids)-manager.MaxReports])
	require.Len(t, checkReports(time.Time{}, ids[1:], lookup), 3, "the oldest report the manager must remember")
}
