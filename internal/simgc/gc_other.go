//go:build !linux

package simgc

// physicalMemory is 0 where the machine's memory is not read: TuneGC then
// sets no memory limit.
func physicalMemory() uint64 { return 0 }
