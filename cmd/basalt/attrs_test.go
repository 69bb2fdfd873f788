package main

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/live/api"
)

// basalt host attr against a manager: set (forever by default, reboot
// when asked), list, show one, delete; refusals are one line, exit 1; a
// value not set is exit 1; -o json is the list; status shows the values
// under "Node Attributes".
func TestHostAttrAgainstAManager(t *testing.T) {
	sock := manager(t)
	cli := func(args ...string) (int, string, string) { return runCLI(append(args, "--socket", sock)...) }
	var b bytes.Buffer
	step := func(args ...string) {
		rc, out, errOut := cli(args...)
		b.WriteString("$ basalt " + joinArgs(args) + "\n" + out + errOut)
		b.WriteString("(exit " + strconv.Itoa(rc) + ")\n\n")
	}
	step("host", "attr", "oss1")
	step("host", "attr", "oss1", "site", "rack1")
	step("host", "attr", "oss1", "master-db", "10", "--lifetime", "reboot")
	step("host", "attr", "oss1", "master-db", "5")
	step("host", "attr", "oss1")
	step("host", "attr", "oss1", "master-db")
	step("host", "attr", "oss1", "master-db", "--lifetime", "reboot")
	step("host", "attr", "oss1", "master-db", "--delete")
	step("host", "attr", "oss1", "nothing")
	step("host", "attr", "oss9", "site", "x")
	step("host", "attr", "oss9")
	step("host", "attr", "oss1", "bad/name", "1")
	step("host", "attr", "oss1", "site", "x", "--lifetime", "sometimes")
	step("host", "attr", "oss1", "--delete")
	step("host", "attr")
	golden(t, "host-attr.txt", b.String())

	rc, out, _ := cli("host", "attr", "oss1", "-o", "json")
	require.Equal(t, 0, rc)
	var v []api.AttrView
	require.NoError(t, json.Unmarshal([]byte(out), &v))
	require.Equal(t, []api.AttrView{{Name: "master-db", Value: "10", Lifetime: "reboot"}, {Name: "site", Value: "rack1", Lifetime: "forever"}}, v)

	_, out, _ = cli("status")
	require.Contains(t, out, "\nNode Attributes:\n  * Node: oss1:\n    * master-db                      : 10 (until reboot)\n    * site                           : rack1\n")
}

func joinArgs(args []string) string { return strings.Join(args, " ") }

// The status lists node attributes as crm_mon -A does, per host with any,
// transient ones marked.
func TestStatusNodeAttributes(t *testing.T) {
	v := api.StatusView{Cluster: "prod", Epoch: 4, Healthy: true,
		Hosts: []api.HostView{
			{Name: "h1", State: "online", Attributes: []api.AttrView{{Name: "master-db", Value: "10", Lifetime: "reboot"},
				{Name: "site", Value: "rack1", Lifetime: "forever"}}},
			{Name: "h2", State: "online"},
			{Name: "h3", State: "online", Attributes: []api.AttrView{{Name: "master-db", Value: "5", Lifetime: "reboot"}}}},
		Groups: []api.GroupView{{ID: "g", Name: "web", Managed: true, Placed: []string{"h1"},
			Resources: []api.ResourceView{{ID: "ip", Name: "address", RunningOn: []string{"h1"}}}}}}
	var b bytes.Buffer
	printStatus(&b, v)
	golden(t, "status-attributes.txt", b.String())
}
