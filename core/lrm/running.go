package lrm

import "github.com/basalt-ha/basalt/core/proc"

// Run is an operation whose agent process runs, as its driver may need to
// know it: what the process is, so that the host agent can record it (and
// find it again after its own death) without reading it back out of the
// process's environment.
type Run struct {
	Call CallID
	Req  OpRequest
	// Name is the resource's human name.
	Name string
}

// RunOf tells which operation the process id runs, while it runs.
func (l *LRM) RunOf(id proc.ID) (Run, bool) {
	o, ok := l.procs[id]
	if !ok {
		return Run{}, false
	}
	name := ""
	if r, ok := l.rscs[o.req.Resource]; ok {
		name = r.def.Name
	}
	return Run{Call: o.call, Req: o.req, Name: name}, true
}
