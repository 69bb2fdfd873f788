package proto

// Command is the epoch and operation a manager's command carries (Exec,
// Cancel, FenceExec, Forget); ok is false for anything else. It is the one place
// that knows which messages are commands, for the agent's epoch guard,
// de-duplication and held commands, and for the simulator's epoch judge.
func Command(msg any) (epoch Epoch, op OpID, ok bool) {
	switch m := msg.(type) {
	case Exec:
		return m.Epoch, m.Op, true
	case Cancel:
		return m.Epoch, m.Op, true
	case FenceExec:
		return m.Epoch, m.Op, true
	case Forget:
		return m.Epoch, m.Op, true
	}
	return 0, 0, false
}
