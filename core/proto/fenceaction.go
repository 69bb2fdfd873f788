package proto

// Valid reports whether a is one of the fence actions Basalt asks for.
func (a FenceAction) Valid() bool {
	switch a {
	case FenceOff, FenceOn, FenceReboot, FenceStatus, FenceMonitor:
		return true
	}
	return false
}
