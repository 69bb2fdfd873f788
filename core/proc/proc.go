// Package proc describes child processes (agent actions) as plain values, and
// the Runner interface through which a driver starts and kills them. The core
// state machines only ever produce Specs and consume Exits; the live runner
// (os/exec with process groups) and the simulated runner (scripted results on
// virtual time) implement Runner.
package proc

// DefaultOutputLimit bounds how much of a child's stdout and of its stderr is
// kept when a Spec does not say. Agents can be chatty (meta-data, debug
// tracing); an unbounded buffer would let one misbehaving agent exhaust the
// daemon's memory.
const DefaultOutputLimit = 64 << 10

// ID identifies one process among those started by one state machine. The
// machine allocates IDs itself (a counter) so that they are deterministic.
type ID uint64

// Spec is everything needed to run one child process. Nothing is passed
// through a shell, and nothing of the parent's environment is inherited: Env
// is the child's whole environment.
type Spec struct {
	// Path is the absolute path of the executable.
	Path string
	// Args are the arguments after argv[0] (an OCF action, for instance).
	Args []string
	// Env is the complete environment as KEY=VALUE strings.
	Env []string
	// Stdin, when not nil, is written to the child's standard input, which is
	// then closed (fence agents read key=value lines there).
	Stdin []byte
	// Dir is the working directory; empty means "/" for the live runner, so
	// that an agent never depends on the daemon's working directory.
	Dir string
	// OutputLimit is the number of bytes kept of stdout and of stderr each;
	// 0 means DefaultOutputLimit. Output beyond it is read and discarded.
	OutputLimit int
}

// Exit is what became of a process.
type Exit struct {
	// Code is the exit status when the process exited by itself, else -1.
	Code int
	// Signal names the signal that ended the process ("killed"), if any.
	Signal string
	// Stdout and Stderr hold at most the Spec's OutputLimit bytes each.
	Stdout []byte
	Stderr []byte
	// Truncated is true when some output was discarded.
	Truncated bool
	// StartError is set when the process could not be started at all; Code
	// is then -1.
	StartError string
	// Missing is true when starting failed because the executable does not
	// exist (the OCF meaning: not installed).
	Missing bool
}

// Started reports whether the process ran at all.
func (e Exit) Started() bool { return e.StartError == "" }

// Runner starts and kills processes. Implementations report every started
// process's end exactly once through the onExit callback given to Start, after
// the process (and, for a kill, its whole process group) has been reaped.
// onExit may be called from another goroutine; it must not block for long.
type Runner interface {
	// Start launches spec under id. An error means nothing was started and
	// onExit will not be called.
	Start(id ID, spec Spec, onExit func(ID, Exit)) error
	// Kill ends the process and every process in its process group. Killing
	// an unknown or finished process is not an error.
	Kill(id ID) error
}
