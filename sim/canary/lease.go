package canary

// IgnoreLeaseName is the manager-replica canary: a leader that goes on
// acting after its lease is lost. Its coordinator's demotions are ignored,
// its manager is not stopped when the lease no longer provably holds, and
// its writes to the store are not guarded on its election key. The agents'
// epoch guard still refuses it once a newer leader reached them; the
// leadership judge must catch it before that.
const IgnoreLeaseName = "ignore-lease"

// IgnoresLease reports whether the canary name is IgnoreLeaseName. The
// defect lives in the driver's gate rather than in a wrapper, since the
// gate it breaks is the driver's (live/daemon and sim/cluster ask the
// coordinator's MayAct); the simulator's cluster has the switch for it.
func IgnoresLease(name string) bool { return name == IgnoreLeaseName }

// Replicas is how many manager replicas a canary needs to show (0: it
// needs none); a run with fewer gets that many.
func Replicas(name string) int {
	if IgnoresLease(name) {
		return 3
	}
	return 0
}
