package check

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestLeadershipJudge(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	tenures := []Tenure{{Rev: 2, Name: "m1", From: at(0), To: at(10)}, {Rev: 7, Name: "m2", From: at(15)}}
	good := []LeaderAct{{At: at(1), Name: "m1", Rev: 2, Epoch: 2}, {At: at(9), Name: "m1", Rev: 2, Epoch: 3},
		{At: at(16), Name: "m2", Rev: 7, Epoch: 7}}
	require.Empty(t, CheckLeadership(good, tenures))

	// A leader that acts after its tenure ended (one report, however
	// often it does), one that acts under a leadership the store never
	// had, and two managers on one epoch.
	bad := append(good, LeaderAct{At: at(11), Name: "m1", Rev: 2, Epoch: 3, What: "start web"},
		LeaderAct{At: at(12), Name: "m1", Rev: 2, Epoch: 3, What: "stop web"},
		LeaderAct{At: at(17), Name: "m3", Rev: 9, Epoch: 9},
		LeaderAct{At: at(18), Name: "m3", Rev: 7, Epoch: 7})
	v := CheckLeadership(bad, tenures)
	require.Len(t, v, 4, "%v", v)
	require.Contains(t, v[0].Message, "m1 acted outside its leadership (revision 2, epoch 3): start web; its leadership ended at 00:00:10.000")
	require.Contains(t, v[1].Message, "m3 acted outside its leadership (revision 9, epoch 9)")
	require.Contains(t, v[1].Message, "that leadership never was")
	require.Contains(t, v[2].Message, "m2 and m3 both acted at manager epoch 7")
	require.Contains(t, v[3].Message, "m3 acted outside its leadership (revision 7, epoch 7)")
}
