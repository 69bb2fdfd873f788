package ocf

// The roles of a promotable clone's instance, as OCF 1.1 codes tell them:
// 8 (OCF_RUNNING_PROMOTED) running promoted, 191 (OCF_DEGRADED_PROMOTED)
// running promoted but degraded, which is no failure, and 9
// (OCF_FAILED_PROMOTED) failed while promoted: the instance must be
// recovered, and may still hold the promoted role until it is stopped.

// PromotedRC reports whether rc says the instance is in the promoted role:
// running (8), degraded (191), or failed there (9).
func PromotedRC(rc RC) bool {
	return rc == RunningPromoted || rc == DegradedPromoted || rc == FailedPromoted
}

// RoleOutcome judges the result of an action on a promotable clone's
// instance against the role it should leave or find: a recurring monitor
// of the promoted role expects 8 or 191 and one of the unpromoted role 0
// or 190; a promote expects the promoted role (0 or 8), a demote the
// unpromoted one (0 or 7 is not it: a demote does not stop). Any other
// role is a failure (Pacemaker's "expected rc"), whatever Classify made
// of the code alone. o is Classify's outcome.
func RoleOutcome(action Action, rc RC, o Outcome, wantPromoted bool) Outcome {
	if o.Failed() {
		return o
	}
	switch action {
	case Promote:
		return o // 0 (or 8, already Promoted): promoted now
	case Demote:
		if PromotedRC(rc) {
			return SoftFailure // still promoted after a demote
		}
		return o
	}
	if PromotedRC(rc) != wantPromoted {
		return SoftFailure
	}
	return o
}
