package cluster

import (
	"fmt"
	"slices"

	"github.com/basalt-ha/basalt/core/manager"
	"github.com/basalt-ha/basalt/core/model"
)

// Configuration changes (basalt config apply). The manager decides
// everything: what the change removes, restarts and adds, and when the
// orphans are gone. The world only has to know the configuration's text,
// to edit it, and to keep its hosts: a simulated host is built with the
// cluster, so a change may not add or remove one (the core's host rules,
// a removed host must be off, are tested in core/manager).

// RunningConfig is the running configuration's text and model: the
// manager's (the file the cluster was built from until a change is
// applied), or, while no manager answers, the last one applied.
func (c *Cluster) RunningConfig() (string, *model.Model) {
	if mg := c.Manager(); mg != nil {
		text, _, m := mg.Config()
		if text == "" {
			text = string(c.opts.Config)
		}
		return text, m
	}
	if c.running == nil {
		return string(c.opts.Config), c.Model
	}
	return c.runningText, c.running
}

// RunningModel is the running configuration's model (RunningConfig).
func (c *Cluster) RunningModel() *model.Model {
	_, m := c.RunningConfig()
	return m
}

// ApplyConfig applies a new configuration through the manager's admin
// path, as basalt config apply does: the ID of the report that follows
// it, or the manager's refusal. A change of hosts is refused here: the
// simulated hosts are the cluster's from the start.
func (c *Cluster) ApplyConfig(text string) (string, error) {
	next, err := model.Load("applied configuration", []byte(text))
	if err != nil {
		return "", err
	}
	if !slices.Equal(next.HostNames(), c.Model.HostNames()) {
		return "", fmt.Errorf("the simulator's hosts are fixed when it is built: %v, not %v", c.Model.HostNames(), next.HostNames())
	}
	id, err := c.Admin(manager.Request{Command: manager.CmdConfigApply, Config: text})
	if err == nil {
		c.running, c.runningText = next, text
		for i := range next.Resources {
			if _, ok := c.startup[next.Resources[i].ID]; !ok {
				// A resource the start-up file did not have: every
				// definition of it is named in the trace.
				c.startup[next.Resources[i].ID] = ""
			}
		}
	}
	return id, err
}

// Note adds a line to the trace (and so to its hash): what a driver of
// the cluster did that the cluster's own lines do not say.
func (c *Cluster) Note(line string) { c.trace("%s", line) }
