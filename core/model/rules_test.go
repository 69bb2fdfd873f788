package model

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// sections is a small valid configuration, one entry per top-level key in
// file order; doc replaces some of them to make one mistake at a time.
var sections = []struct{ key, text string }{
	{"cluster", "cluster:\n  name: t\n"},
	{"hosts", "hosts:\n  - {name: a, address: \"127.0.0.1:1\"}\n  - {name: b, address: \"127.0.0.1:2\"}\n"},
	{"fence-devices", "fence-devices:\n  - {id: fa, agent: fence_x, hosts: {a: a}}\n  - {id: fb, agent: fence_x, hosts: {b: b}}\n"},
	{"fencing-topology", ""},
	{"resources", "resources:\n  - {id: r1, agent: \"ocf:heartbeat:Dummy\"}\n  - {id: r2, agent: \"ocf:heartbeat:Dummy\"}\n"},
	{"groups", "groups:\n  - {id: g, members: [{resource: r1}, {resource: r2, parent: r1}]}\n"},
}

// doc builds a configuration from the valid sections, with some replaced
// (an empty replacement drops the section).
func doc(over map[string]string) string {
	var b strings.Builder
	for _, s := range sections {
		text, ok := over[s.key]
		if !ok {
			text = s.text
		}
		b.WriteString(text)
	}
	return b.String()
}

func loadErrors(t *testing.T, text string) *Errors {
	t.Helper()
	m, err := Load("t.yaml", []byte(text))
	require.Error(t, err, "loaded:\n%s", text)
	require.Nil(t, m)
	var errs *Errors
	require.True(t, errors.As(err, &errs), "error is not *Errors: %v", err)
	require.NotEmpty(t, errs.List)
	for _, e := range errs.List {
		require.Equal(t, "t.yaml", e.File)
		require.Positive(t, e.Line, "every error names a line: %s", e)
	}
	return errs
}

func TestBaseConfigIsValid(t *testing.T) {
	m, err := Load("t.yaml", []byte(doc(nil)))
	require.NoError(t, err)
	require.Len(t, m.Groups, 1)
}

// TestRules makes one mistake per case and checks the error names the key
// path and says what is wrong.
func TestRules(t *testing.T) {
	cases := []struct {
		name string
		over map[string]string
		want string
	}{
		// cluster
		{"heartbeat without unit", map[string]string{"cluster": "cluster: {heartbeat-interval: 2}\n"},
			`cluster.heartbeat-interval: "2" has no unit (write e.g. 2s)`},
		{"not a duration", map[string]string{"cluster": "cluster: {fence-timeout: 10x}\n"},
			`cluster.fence-timeout: "10x" is not a duration (use e.g. 10s, 1m30s)`},
		{"dead timeout not above heartbeat", map[string]string{"cluster": "cluster: {heartbeat-interval: 2s, dead-timeout: 2s}\n"},
			`cluster.dead-timeout: 2s must be longer than the heartbeat interval 2s`},
		{"zero heartbeat", map[string]string{"cluster": "cluster: {heartbeat-interval: 0s}\n"},
			`cluster.heartbeat-interval: must be positive`},
		{"relative ocf root", map[string]string{"cluster": "cluster: {ocf-root: lib/ocf}\n"},
			`cluster.ocf-root: "lib/ocf" must be an absolute path`},
		{"fencing not a boolean", map[string]string{"cluster": "cluster: {fencing: \"no\"}\n"},
			`cluster.fencing: "no" is not a boolean (true or false)`},
		{"unknown op default", map[string]string{"cluster": "cluster: {op-defaults: {start: 1s}}\n"},
			`cluster.op-defaults.start: unknown key (known here: start-timeout, stop-timeout, monitor-timeout)`},
		{"zero op default", map[string]string{"cluster": "cluster: {op-defaults: {stop-timeout: 0s}}\n"},
			`cluster.op-defaults.stop-timeout: must be positive`},
		{"unknown top-level key", map[string]string{"cluster": "clutser: {}\n"},
			`t.yaml:1: clutser: unknown key`},
		{"key given twice", map[string]string{"cluster": "cluster: {name: x, name: y}\n"},
			`cluster.name: given twice`},

		// hosts
		{"no hosts", map[string]string{"hosts": "", "fence-devices": "", "cluster": "cluster: {fencing: false}\n"},
			`hosts: at least one host is required`},
		{"upper-case host name", map[string]string{"hosts": "hosts: [{name: A, address: \"h:1\"}, {name: b, address: \"h:2\"}]\n"},
			`hosts[0].name: "A" is not a host name`},
		{"host name too long", map[string]string{"hosts": "hosts: [{name: a, address: \"h:1\"}, {name: b, address: \"h:2\"}, {name: " + strings.Repeat("x", 64) + ", address: \"h:3\"}]\n"},
			`hosts[2].name: "xxxx`},
		{"address without port", map[string]string{"hosts": "hosts: [{name: a, address: h}, {name: b, address: \"h:2\"}]\n"},
			`hosts[0].address: "h" is not host:port`},
		{"port zero", map[string]string{"hosts": "hosts: [{name: a, address: \"h:0\"}, {name: b, address: \"h:2\"}]\n"},
			`hosts[0].address: "h:0" is not host:port`},
		{"duplicate host", map[string]string{"hosts": "hosts:\n  - {name: a, address: \"h:1\"}\n  - {name: b, address: \"h:2\"}\n  - {name: a, address: \"h:3\"}\n"},
			`t.yaml:6: hosts[2].name: host "a" is defined twice (first on line 4)`},
		{"host without name", map[string]string{"hosts": "hosts: [{name: a, address: \"h:1\"}, {name: b, address: \"h:2\"}, {address: \"h:3\"}]\n"},
			`hosts[2].name: is required`},

		// fence devices and topology
		{"agent with a path", map[string]string{"fence-devices": "fence-devices:\n  - {id: fa, agent: /sbin/fence_x, hosts: {a: a}}\n  - {id: fb, agent: fence_x, hosts: {b: b}}\n"},
			`fence-devices[0].agent: "/sbin/fence_x" is not a fence agent name`},
		{"device for an unknown host", map[string]string{"fence-devices": "fence-devices:\n  - {id: fa, agent: fence_x, hosts: {a: a, z: z}}\n  - {id: fb, agent: fence_x, hosts: {b: b}}\n"},
			`fence-devices[0].hosts.z: unknown host "z"`},
		{"device fencing nothing", map[string]string{"fence-devices": "fence-devices:\n  - {id: fa, agent: fence_x, hosts: {a: a}}\n  - {id: fb, agent: fence_x, hosts: {b: b}}\n  - {id: fc, agent: fence_x}\n"},
			`fence-devices[2].hosts: must list the hosts this device can fence`},
		{"reserved fence parameter", map[string]string{"fence-devices": "fence-devices:\n  - {id: fa, agent: fence_x, params: {action: reboot}, hosts: {a: a}}\n  - {id: fb, agent: fence_x, hosts: {b: b}}\n"},
			`fence-devices[0].params.action: action is set by basalt for each request`},
		{"fence parameter with a newline", map[string]string{"fence-devices": "fence-devices:\n  - {id: fa, agent: fence_x, params: {login: \"x\\naction=on\"}, hosts: {a: a}}\n  - {id: fb, agent: fence_x, hosts: {b: b}}\n"},
			`fence-devices[0].params.login: must be on one line`},
		{"fence parameter option (the alias of action)", map[string]string{"fence-devices": "fence-devices:\n  - {id: fa, agent: fence_x, params: {option: status}, hosts: {a: a}}\n  - {id: fb, agent: fence_x, hosts: {b: b}}\n"},
			`fence-devices[0].params.option: option is set by basalt for each request`},
		{"fence parameter with a line separator", map[string]string{"fence-devices": "fence-devices:\n  - {id: fa, agent: fence_x, params: {login: \"x\\u2028action=on\"}, hosts: {a: a}}\n  - {id: fb, agent: fence_x, hosts: {b: b}}\n"},
			`fence-devices[0].params.login: must be on one line, in plain text (fence agents read their arguments as key=value lines): it holds the control or line-separator character U+2028`},
		{"fence parameter with a vertical tab", map[string]string{"fence-devices": "fence-devices:\n  - {id: fa, agent: fence_x, params: {login: \"x\\vaction=on\"}, hosts: {a: a}}\n  - {id: fb, agent: fence_x, hosts: {b: b}}\n"},
			`fence-devices[0].params.login: must be on one line`},
		{"plug with a next-line character", map[string]string{"fence-devices": "fence-devices:\n  - {id: fa, agent: fence_x, hosts: {a: \"1\\u00852\"}}\n  - {id: fb, agent: fence_x, hosts: {b: b}}\n"},
			`fence-devices[0].hosts.a: must be on one line`},
		{"plug with a newline", map[string]string{"fence-devices": "fence-devices:\n  - {id: fa, agent: fence_x, hosts: {a: \"1\\n2\"}}\n  - {id: fb, agent: fence_x, hosts: {b: b}}\n"},
			`fence-devices[0].hosts.a: must be on one line`},
		{"fence parameter name with a space", map[string]string{"fence-devices": "fence-devices:\n  - {id: fa, agent: fence_x, params: {\"a b\": x}, hosts: {a: a}}\n  - {id: fb, agent: fence_x, hosts: {b: b}}\n"},
			`fence-devices[0].params.a b: "a b" is not a fence agent parameter name`},
		{"resource parameter with a NUL", map[string]string{"resources": "resources:\n  - {id: r1, agent: \"ocf:heartbeat:Dummy\", params: {x: \"a\\0b\"}}\n  - {id: r2, agent: \"ocf:heartbeat:Dummy\"}\n"},
			`resources[0].params.x: contains a NUL character`},
		{"device without id", map[string]string{"fence-devices": "fence-devices:\n  - {id: fa, agent: fence_x, hosts: {a: a}}\n  - {agent: fence_x, hosts: {b: b}}\n"},
			`fence-devices[1].id: is required`},
		{"duplicate device", map[string]string{"fence-devices": "fence-devices:\n  - {id: fa, agent: fence_x, hosts: {a: a}}\n  - {id: fa, agent: fence_x, hosts: {b: b}}\n"},
			`fence-devices[1].id: fence device "fa" is defined twice`},
		{"unfenceable host", map[string]string{"fence-devices": "fence-devices:\n  - {id: fa, agent: fence_x, hosts: {a: a}}\n"},
			`hosts[1]: fencing is on but no fence device can fence host "b"`},
		{"topology for an unknown host", map[string]string{"fencing-topology": "fencing-topology:\n  z: [[fa]]\n"},
			`fencing-topology.z: unknown host "z"`},
		{"topology with an unknown device", map[string]string{"fencing-topology": "fencing-topology:\n  a: [[fa], [nope]]\n"},
			`fencing-topology.a[1][0]: unknown fence device "nope"`},
		{"topology device that cannot fence the host", map[string]string{"fencing-topology": "fencing-topology:\n  a: [[fb]]\n"},
			`fencing-topology.a[0][0]: fence device "fb" cannot fence a`},
		{"topology without levels", map[string]string{"fencing-topology": "fencing-topology:\n  a: []\n"},
			`fencing-topology.a: needs at least one level`},
		{"topology level not a list", map[string]string{"fencing-topology": "fencing-topology:\n  a: [fa]\n"},
			`fencing-topology.a[0]: a level is a non-empty list of device ids that must all succeed`},

		// resources
		{"non-OCF agent", map[string]string{"resources": "resources:\n  - {id: r1, agent: \"lsb:foo\"}\n  - {id: r2, agent: \"ocf:heartbeat:Dummy\"}\n"},
			`resources[0].agent: agent "lsb:foo": want ocf:<provider>:<type>`},
		{"missing agent", map[string]string{"resources": "resources:\n  - {id: r1}\n  - {id: r2, agent: \"ocf:heartbeat:Dummy\"}\n"},
			`resources[0].agent: agent "": want ocf:<provider>:<type>`},
		{"reserved parameter", map[string]string{"resources": "resources:\n  - {id: r1, agent: \"ocf:heartbeat:Dummy\", params: {CRM_meta_timeout: \"1\"}}\n  - {id: r2, agent: \"ocf:heartbeat:Dummy\"}\n"},
			`resources[0].params.CRM_meta_timeout: parameter name "CRM_meta_timeout": the CRM_meta prefix is reserved`},
		{"parameter value not plain", map[string]string{"resources": "resources:\n  - {id: r1, agent: \"ocf:heartbeat:Dummy\", params: {x: [1]}}\n  - {id: r2, agent: \"ocf:heartbeat:Dummy\"}\n"},
			`resources[0].params.x: must be a plain value`},
		{"bad resource id", map[string]string{"resources": "resources:\n  - {id: \"r 1\", agent: \"ocf:heartbeat:Dummy\"}\n  - {id: r2, agent: \"ocf:heartbeat:Dummy\"}\n"},
			`resources[0].id: "r 1" is not a valid id`},
		{"resource id starting with a dot", map[string]string{"resources": "resources:\n  - {id: ..., agent: \"ocf:heartbeat:Dummy\"}\n  - {id: r1, agent: \"ocf:heartbeat:Dummy\"}\n  - {id: r2, agent: \"ocf:heartbeat:Dummy\"}\n"},
			`resources[0].id: "..." is not a valid id`},
		{"duplicate resource", map[string]string{"resources": "resources:\n  - {id: r1, agent: \"ocf:heartbeat:Dummy\"}\n  - {id: r2, agent: \"ocf:heartbeat:Dummy\"}\n  - {id: r1, agent: \"ocf:heartbeat:Dummy\"}\n"},
			`resources[2].id: resource "r1" is defined twice (first on line 10)`},
		{"bad on-fail", map[string]string{"resources": "resources:\n  - {id: r1, agent: \"ocf:heartbeat:Dummy\", ops: {stop: {on-fail: reboot}}}\n  - {id: r2, agent: \"ocf:heartbeat:Dummy\"}\n"},
			`resources[0].ops.stop.on-fail: "reboot" is not an on-fail policy (ignore, block, stop, restart, fence, standby)`},
		{"unknown op", map[string]string{"resources": "resources:\n  - {id: r1, agent: \"ocf:heartbeat:Dummy\", ops: {promote: {}}}\n  - {id: r2, agent: \"ocf:heartbeat:Dummy\"}\n"},
			`resources[0].ops.promote: unknown key (known here: start, stop, reload, notify, monitor)`},
		{"same monitor interval twice", map[string]string{"resources": "resources:\n  - {id: r1, agent: \"ocf:heartbeat:Dummy\", ops: {monitor: [{interval: 60s}, {interval: 1m, depth: 10}]}}\n  - {id: r2, agent: \"ocf:heartbeat:Dummy\"}\n"},
			`resources[0].ops.monitor[1].interval: another monitor of r1 already uses 1m0s`},
		{"monitor without interval", map[string]string{"resources": "resources:\n  - {id: r1, agent: \"ocf:heartbeat:Dummy\", ops: {monitor: [{timeout: 5s}]}}\n  - {id: r2, agent: \"ocf:heartbeat:Dummy\"}\n"},
			`resources[0].ops.monitor[0].interval: is required`},
		{"zero monitor interval", map[string]string{"resources": "resources:\n  - {id: r1, agent: \"ocf:heartbeat:Dummy\", ops: {monitor: [{interval: 0s}]}}\n  - {id: r2, agent: \"ocf:heartbeat:Dummy\"}\n"},
			`resources[0].ops.monitor[0].interval: a recurring monitor needs a positive interval`},
		{"negative depth", map[string]string{"resources": "resources:\n  - {id: r1, agent: \"ocf:heartbeat:Dummy\", ops: {monitor: [{interval: 5s, depth: -1}]}}\n  - {id: r2, agent: \"ocf:heartbeat:Dummy\"}\n"},
			`resources[0].ops.monitor[0].depth: -1 is outside 0..1000`},
		{"depth not a number", map[string]string{"resources": "resources:\n  - {id: r1, agent: \"ocf:heartbeat:Dummy\", ops: {monitor: [{interval: 5s, depth: deep}]}}\n  - {id: r2, agent: \"ocf:heartbeat:Dummy\"}\n"},
			`resources[0].ops.monitor[0].depth: "deep" is not a whole number`},
		{"monitor list not a list", map[string]string{"resources": "resources:\n  - {id: r1, agent: \"ocf:heartbeat:Dummy\", ops: {monitor: {interval: 5s}}}\n  - {id: r2, agent: \"ocf:heartbeat:Dummy\"}\n"},
			`resources[0].ops.monitor: must be a list`},
		{"stop on-fail fence without fencing", map[string]string{
			"cluster": "cluster: {fencing: false}\n", "fence-devices": "",
			"resources": "resources:\n  - {id: r1, agent: \"ocf:heartbeat:Dummy\", ops: {stop: {on-fail: fence}}}\n  - {id: r2, agent: \"ocf:heartbeat:Dummy\"}\n"},
			`resources[0].ops.stop.on-fail: "fence" needs fencing, which is off`},
		{"start on-fail fence without fencing", map[string]string{
			"cluster": "cluster: {fencing: false}\n", "fence-devices": "",
			"resources": "resources:\n  - {id: r1, agent: \"ocf:heartbeat:Dummy\", ops: {start: {on-fail: fence}}}\n  - {id: r2, agent: \"ocf:heartbeat:Dummy\"}\n"},
			`resources[0].ops.start.on-fail: "fence" needs fencing, which is off (use restart, stop, block or standby)`},
		{"monitor on-fail fence without fencing", map[string]string{
			"cluster": "cluster: {fencing: false}\n", "fence-devices": "",
			"resources": "resources:\n  - {id: r1, agent: \"ocf:heartbeat:Dummy\", ops: {monitor: [{interval: 5s, on-fail: fence}]}}\n  - {id: r2, agent: \"ocf:heartbeat:Dummy\"}\n"},
			`resources[0].ops.monitor[0].on-fail: "fence" needs fencing, which is off`},
		{"stop on-fail ignore", map[string]string{"resources": "resources:\n  - {id: r1, agent: \"ocf:heartbeat:Dummy\", ops: {stop: {on-fail: ignore}}}\n  - {id: r2, agent: \"ocf:heartbeat:Dummy\"}\n"},
			`resources[0].ops.stop.on-fail: "ignore" cannot answer a failed stop, which leaves the resource in an unknown state (use fence, block or standby)`},
		{"stop on-fail stop", map[string]string{"resources": "resources:\n  - {id: r1, agent: \"ocf:heartbeat:Dummy\", ops: {stop: {on-fail: stop}}}\n  - {id: r2, agent: \"ocf:heartbeat:Dummy\"}\n"},
			`resources[0].ops.stop.on-fail: "stop" cannot answer a failed stop`},
		{"stop on-fail restart", map[string]string{"resources": "resources:\n  - {id: r1, agent: \"ocf:heartbeat:Dummy\", ops: {stop: {on-fail: restart}}}\n  - {id: r2, agent: \"ocf:heartbeat:Dummy\"}\n"},
			`resources[0].ops.stop.on-fail: "restart" cannot answer a failed stop`},

		// groups
		{"resource in no group", map[string]string{"groups": "groups:\n  - {id: g, members: [{resource: r1}]}\n"},
			`t.yaml:11: resources[1]: resource "r2" is in no group`},
		{"resource in two groups", map[string]string{"groups": "groups:\n  - {id: g, members: [{resource: r1}, {resource: r2, parent: r1}]}\n  - {id: h, members: [{resource: r2}]}\n"},
			`groups[1].members[0].resource: resource "r2" is already in group "g"`},
		{"resource twice in one group", map[string]string{"groups": "groups:\n  - {id: g, members: [{resource: r1}, {resource: r2, parent: r1}, {resource: r2, parent: r1}]}\n"},
			`groups[0].members[2].resource: resource "r2" is listed twice in this group`},
		{"unknown member", map[string]string{"groups": "groups:\n  - {id: g, members: [{resource: r1}, {resource: r2, parent: r1}, {resource: r3, parent: r1}]}\n"},
			`groups[0].members[2].resource: unknown resource "r3"`},
		{"parent outside the group", map[string]string{"groups": "groups:\n  - {id: g, members: [{resource: r1}]}\n  - {id: h, members: [{resource: r2, parent: r1}]}\n"},
			`groups[1].members[0].parent: parent "r1" is not a member of this group`},
		{"own parent", map[string]string{"groups": "groups:\n  - {id: g, members: [{resource: r1}, {resource: r2, parent: r2}]}\n"},
			`groups[0].members[1].parent: "r2" cannot be its own parent`},
		{"two roots", map[string]string{"groups": "groups:\n  - {id: g, members: [{resource: r1}, {resource: r2}]}\n"},
			`groups[0].members: a group needs exactly one root member (one without parent), found 2: r1, r2`},
		{"cycle", map[string]string{
			"resources": "resources:\n  - {id: r1, agent: \"ocf:heartbeat:Dummy\"}\n  - {id: r2, agent: \"ocf:heartbeat:Dummy\"}\n  - {id: r3, agent: \"ocf:heartbeat:Dummy\"}\n  - {id: r4, agent: \"ocf:heartbeat:Dummy\"}\n",
			"groups":    "groups:\n  - {id: g, members: [{resource: r1}, {resource: r2, parent: r4}, {resource: r3, parent: r2}, {resource: r4, parent: r3}]}\n"},
			`groups[0].members: members r2, r3, r4 form a cycle of parents`},
		{"empty group", map[string]string{"groups": "groups:\n  - {id: g, members: [{resource: r1}, {resource: r2, parent: r1}]}\n  - {id: h, members: []}\n"},
			`groups[1].members: a group needs at least one member`},
		{"group without id", map[string]string{"groups": "groups:\n  - {members: [{resource: r1}, {resource: r2, parent: r1}]}\n"},
			`groups[0].id: is required`},
		{"duplicate group", map[string]string{"groups": "groups:\n  - {id: g, members: [{resource: r1}]}\n  - {id: g, members: [{resource: r2}]}\n"},
			`groups[1].id: group "g" is defined twice`},

		// placement
		{"domain with an unknown host", map[string]string{"groups": "groups:\n  - {id: g, members: [{resource: r1}, {resource: r2, parent: r1}], placement: {domain: {hosts: [{host: z}]}}}\n"},
			`groups[0].placement.domain.hosts[0].host: unknown host "z"`},
		{"domain host twice", map[string]string{"groups": "groups:\n  - {id: g, members: [{resource: r1}, {resource: r2, parent: r1}], placement: {domain: {hosts: [{host: a}, {host: a}]}}}\n"},
			`groups[0].placement.domain.hosts[1].host: host "a" is listed twice`},
		{"empty domain", map[string]string{"groups": "groups:\n  - {id: g, members: [{resource: r1}, {resource: r2, parent: r1}], placement: {domain: {hosts: []}}}\n"},
			`groups[0].placement.domain.hosts: a domain needs at least one host`},
		{"more instances than hosts", map[string]string{"groups": "groups:\n  - {id: g, members: [{resource: r1}, {resource: r2, parent: r1}], placement: {clone-max: 3}}\n"},
			`groups[0].placement.clone-max: 3 is outside 1..2`},
		{"bad multiple-active", map[string]string{"groups": "groups:\n  - {id: g, members: [{resource: r1}, {resource: r2, parent: r1}], placement: {multiple-active: stop-all}}\n"},
			`groups[0].placement.multiple-active: "stop-all" is not a multiple-active policy (stop-unexpected, stop-start, stop-only, block)`},
		{"zero instances", map[string]string{"groups": "groups:\n  - {id: g, members: [{resource: r1}, {resource: r2, parent: r1}], placement: {clone-max: 0}}\n"},
			`groups[0].placement.clone-max: 0 is outside 1..2`},
		{"negative stickiness", map[string]string{"groups": "groups:\n  - {id: g, members: [{resource: r1}, {resource: r2, parent: r1}], placement: {stickiness: -5}}\n"},
			`groups[0].placement.stickiness: -5 is outside 0..1000000`},
		{"negative failure timeout", map[string]string{"groups": "groups:\n  - {id: g, members: [{resource: r1}, {resource: r2, parent: r1}], placement: {failure-timeout: -1m}}\n"},
			`groups[0].placement.failure-timeout: "-1m" is negative`},
		{"bad recovery", map[string]string{"groups": "groups:\n  - {id: g, members: [{resource: r1}, {resource: r2, parent: r1}], placement: {recovery: migrate}}\n"},
			`groups[0].placement.recovery: "migrate" is not a recovery policy (restart, relocate, disable)`},
		{"bad target role", map[string]string{"groups": "groups:\n  - {id: g, members: [{resource: r1}, {resource: r2, parent: r1}], placement: {target-role: promoted}}\n"},
			`groups[0].placement.target-role: "promoted" is not a target role (started, stopped)`},
		{"managed not a boolean", map[string]string{"groups": "groups:\n  - {id: g, members: [{resource: r1}, {resource: r2, parent: r1}], placement: {managed: 1}}\n"},
			`groups[0].placement.managed: "1" is not a boolean (true or false)`},
		{"unknown placement key", map[string]string{"groups": "groups:\n  - {id: g, members: [{resource: r1}, {resource: r2, parent: r1}], placement: {priority: 1}}\n"},
			`groups[0].placement.priority: unknown key`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			errs := loadErrors(t, doc(c.over))
			require.Contains(t, errs.Error(), c.want)
		})
	}
}

func TestEveryErrorAtOnce(t *testing.T) {
	errs := loadErrors(t, doc(map[string]string{
		"cluster":   "cluster: {heartbeat-interval: 1x, ocf-root: rel}\n",
		"resources": "resources:\n  - {id: r1, agent: \"ocf:heartbeat:Dummy\", ops: {start: {timeout: 5}}}\n  - {id: r2, agent: bad}\n",
		"groups":    "groups:\n  - {id: g, members: [{resource: r1}, {resource: r2, parent: r1}], placement: {recovery: x}}\n",
	}))
	require.Len(t, errs.List, 5, errs.Error())
	// Sorted by line, then by path within a line.
	for i := 1; i < len(errs.List); i++ {
		a, b := errs.List[i-1], errs.List[i]
		require.True(t, a.Line < b.Line || a.Line == b.Line && a.Path <= b.Path, "%s before %s", a, b)
	}
	require.Equal(t, "t.yaml:1: cluster.heartbeat-interval: \"1x\" is not a duration (use e.g. 10s, 1m30s)", errs.List[0].Error())
	require.Equal(t, "cluster.ocf-root", errs.List[1].Path)
	require.Len(t, strings.Split(errs.Error(), "\n"), 5)
}

func TestSyntaxAndShapeErrors(t *testing.T) {
	for name, c := range map[string]struct{ text, want string }{
		"bad indentation": {"hosts:\n  - name: a\n   - name: b\n", "t.yaml:3: YAML syntax: did not find expected '-' indicator"},
		"tab":             {"cluster:\n  name: x\nhosts:\n\t- name: b\n", "t.yaml:4: YAML syntax: found character that cannot start any token"},
		"open quote":      {"cluster:\n  name: 'x\nhosts: []\n", "t.yaml:2: YAML syntax: "},
		"open bracket":    {"cluster: {name: x}\nhosts: [{name: a}\nresources: []\n", "t.yaml:2: YAML syntax: "},
		"two colons":      {"cluster: {name: x}\nhosts: a: b\n", "t.yaml:2: YAML syntax: mapping values are not allowed in this context"},
		"empty":           {"", "t.yaml:1: the file is empty"},
		"comment only":    {"# nothing\n", "t.yaml:1: the file is empty"},
		"scalar document": {"hello\n", "t.yaml:1: the configuration must be a mapping of sections"},
		"two documents":   {doc(nil) + "---\nhosts: []\n", "a second YAML document"},
		"non-scalar key":  {doc(nil) + "? [a]\n: b\n", "a key must be a plain word"},
		"hosts a mapping": {doc(map[string]string{"hosts": "hosts: {a: b}\n"}), "t.yaml:3: hosts: must be a list"},
	} {
		t.Run(name, func(t *testing.T) {
			require.Contains(t, loadErrors(t, c.text).Error(), c.want)
		})
	}
}

func TestEmptySectionsMeanNone(t *testing.T) {
	// "params:" with every line commented out is an empty map, not an error.
	m, err := Load("t.yaml", []byte(doc(map[string]string{
		"cluster":   "cluster:\n",
		"resources": "resources:\n  - id: r1\n    agent: ocf:heartbeat:Dummy\n    params:\n    ops:\n  - {id: r2, agent: \"ocf:heartbeat:Dummy\"}\n",
	})))
	require.NoError(t, err)
	r, _ := m.Resource("r1")
	require.Empty(t, r.Params)
	require.Equal(t, "basalt", m.Cluster.Name)
}

func TestAliases(t *testing.T) {
	m, err := Load("t.yaml", []byte(doc(map[string]string{
		"fence-devices": "fence-devices:\n  - {id: fa, agent: fence_x, params: &ipmi {login: admin, passwd: secret}, hosts: {a: a}}\n  - {id: fb, agent: fence_x, params: *ipmi, hosts: {b: b}}\n",
	})))
	require.NoError(t, err)
	fb, _ := m.Device("fb")
	require.Equal(t, map[string]string{"login": "admin", "passwd": "secret"}, fb.Params)

	// Nested aliases that would expand exponentially are refused quickly.
	var b strings.Builder
	b.WriteString("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 10; i++ {
		fmt.Fprintf(&b, "a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n", i, i,
			i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
	}
	require.Contains(t, loadErrors(t, b.String()).Error(), "YAML aliases expand to more than")
}

func TestMoreDefaults(t *testing.T) {
	m, err := Load("t.yaml", []byte(doc(map[string]string{
		"cluster": "cluster:\n  name: t\n  heartbeat-interval: 2s\n  op-defaults: {start-timeout: 31s, stop-timeout: 32s, monitor-timeout: 33s}\n",
		"resources": "resources:\n  - id: r1\n    agent: ocf:heartbeat:Dummy\n    ops:\n      monitor: [{interval: 10s}, {interval: 1m, depth: 20, timeout: 5s, on-fail: block}]\n" +
			"  - {id: r2, name: second, agent: \"ocf:heartbeat:Dummy\", ops: {start: {timeout: 1s, on-fail: stop}}}\n",
		"groups": "groups:\n  - id: g\n    members: [{resource: r1}, {resource: r2, parent: r1}]\n    placement:\n      domain:\n        hosts: [{host: b}, {host: a, priority: 7}]\n",
	})))
	require.NoError(t, err)
	require.Equal(t, 10*time.Second, m.Cluster.DeadTimeout, "five heartbeats")
	require.True(t, m.Cluster.Fencing)

	r1, _ := m.Resource("r1")
	require.Equal(t, "r1", r1.Name, "the name defaults to the id")
	require.Equal(t, Op{Timeout: 31 * time.Second, OnFail: OnFailRestart}, r1.Start)
	require.Equal(t, Op{Timeout: 32 * time.Second, OnFail: OnFailFence}, r1.Stop)
	require.Equal(t, []Monitor{
		{Interval: 10 * time.Second, Timeout: 33 * time.Second, Depth: 0, OnFail: OnFailRestart},
		{Interval: time.Minute, Timeout: 5 * time.Second, Depth: 20, OnFail: OnFailBlock},
	}, r1.Monitors)
	require.Equal(t, 12, r1.Line)
	require.Equal(t, "ocf:heartbeat:Dummy", r1.Agent.String())

	r2, _ := m.Resource("r2")
	require.Equal(t, "second", r2.Name)
	require.Equal(t, Op{Timeout: time.Second, OnFail: OnFailStop}, r2.Start)
	require.Empty(t, r2.Monitors, "no monitor configured, none invented")

	g, _ := m.Group("g")
	require.Equal(t, "g", g.Name)
	require.Equal(t, 18, g.Line)
	d := g.Placement.Domain
	require.True(t, d.Restricted, "an explicit domain is restricted unless it says otherwise")
	require.False(t, d.Failback)
	require.Equal(t, []DomainHost{{"b", 1}, {"a", 7}}, d.Hosts, "priority defaults to the position")
	require.Zero(t, g.Placement.FailureTimeout, "failures are never forgotten by default")
	require.Equal(t, 0, g.Placement.Stickiness)
}

func TestTreeOrders(t *testing.T) {
	//        db
	//      /    \
	//    fs      ip
	//   /  \       \
	// app  logs    dns
	//  |
	// web
	g := &Group{ID: "g", Members: []Member{
		{Resource: "app", Parent: "fs"},
		{Resource: "db"},
		{Resource: "fs", Parent: "db"},
		{Resource: "ip", Parent: "db"},
		{Resource: "web", Parent: "app"},
		{Resource: "logs", Parent: "fs"},
		{Resource: "dns", Parent: "ip"},
	}}
	require.Equal(t, "db", g.Root())
	require.Equal(t, []string{"db", "fs", "ip", "app", "logs", "dns", "web"}, g.StartOrder())
	require.Equal(t, []string{"web", "dns", "logs", "app", "ip", "fs", "db"}, g.StopOrder())
	require.Equal(t, []string{"fs", "ip"}, g.Children("db"))
	require.Equal(t, []string{"app", "logs"}, g.Children("fs"))
	require.Empty(t, g.Children("web"))
	require.Equal(t, []string{"app", "fs", "db"}, g.Ancestors("web"))
	require.Empty(t, g.Ancestors("db"))
	require.Equal(t, []string{"app", "logs", "web"}, g.Descendants("fs"))
	require.Equal(t, "fs", g.Parent("logs"))
	require.Equal(t, []string{"app", "db", "fs", "ip", "web", "logs", "dns"}, g.Resources())

	// Every parent starts before its children and stops after them.
	start := map[string]int{}
	for i, r := range g.StartOrder() {
		start[r] = i
	}
	stop := map[string]int{}
	for i, r := range g.StopOrder() {
		stop[r] = i
	}
	for _, mem := range g.Members {
		if mem.Parent != "" {
			require.Less(t, start[mem.Parent], start[mem.Resource])
			require.Greater(t, stop[mem.Parent], stop[mem.Resource])
		}
	}
}

func TestLoadedTreeAndLookups(t *testing.T) {
	m, err := Load("t.yaml", []byte(doc(map[string]string{
		"resources": "resources:\n  - {id: r1, agent: \"ocf:heartbeat:Dummy\"}\n  - {id: r2, agent: \"ocf:heartbeat:Dummy\"}\n" +
			"  - {id: r3, agent: \"ocf:heartbeat:Dummy\"}\n  - {id: solo, agent: \"ocf:heartbeat:Dummy\"}\n",
		"groups": "groups:\n  - {id: g, members: [{resource: r3, parent: r2}, {resource: r2, parent: r1}, {resource: r1}]}\n" +
			"  - {id: h, name: Solo service, members: [{resource: solo}]}\n",
	})))
	require.NoError(t, err)
	g, ok := m.Group("g")
	require.True(t, ok)
	require.Equal(t, []string{"r1", "r2", "r3"}, g.StartOrder(), "order follows the tree, not the member list")
	require.Equal(t, []string{"r3", "r2", "r1"}, g.StopOrder())
	require.Equal(t, []string{"r2", "r1"}, g.Ancestors("r3"))

	h, ok := m.Group("h")
	require.True(t, ok)
	require.Equal(t, "Solo service", h.Name)
	_, ok = m.Group("nope")
	require.False(t, ok)

	host, ok := m.Host("b")
	require.True(t, ok)
	require.Equal(t, Host{Name: "b", Address: "127.0.0.1:2"}, host)
	_, ok = m.Host("z")
	require.False(t, ok)
	require.Equal(t, []string{"a", "b"}, m.HostNames())

	r, ok := m.Resource("solo")
	require.True(t, ok)
	require.Equal(t, "solo", r.ID)
	_, ok = m.Resource("nope")
	require.False(t, ok)

	gid, ok := m.GroupOf("r3")
	require.True(t, ok)
	require.Equal(t, "g", gid)
	gid, _ = m.GroupOf("solo")
	require.Equal(t, "h", gid)
	_, ok = m.GroupOf("nope")
	require.False(t, ok)

	d, ok := m.Device("fb")
	require.True(t, ok)
	require.Equal(t, map[string]string{"b": "b"}, d.Plugs)
	_, ok = m.Device("nope")
	require.False(t, ok)
}

func TestFencingLevels(t *testing.T) {
	m, err := Load("t.yaml", []byte(doc(map[string]string{
		"hosts": "hosts:\n  - {name: a, address: \"h:1\"}\n  - {name: b, address: \"h:2\"}\n  - {name: c, address: \"h:3\"}\n",
		"fence-devices": "fence-devices:\n  - {id: ipmi-a, agent: fence_ipmilan, hosts: {a: a}}\n" +
			"  - {id: pdu1, agent: fence_apc, hosts: {a: \"1\", b: \"2\", c: \"3\"}}\n" +
			"  - {id: pdu2, agent: fence_apc, hosts: {a: \"1\", b: \"2\", c: \"3\"}}\n",
		"fencing-topology": "fencing-topology:\n  a: [[ipmi-a], [pdu1, pdu2]]\n",
	})))
	require.NoError(t, err)
	require.Equal(t, [][]string{{"ipmi-a"}, {"pdu1", "pdu2"}}, m.FencingLevels("a"), "the topology, in order")
	require.Equal(t, [][]string{{"pdu1"}, {"pdu2"}}, m.FencingLevels("b"), "without a topology, each capable device alone")
	require.Nil(t, m.FencingLevels("z"))

	// The levels are a copy: a caller cannot change the model through them.
	lv := m.FencingLevels("a")
	lv[0][0] = "changed"
	require.Equal(t, "ipmi-a", m.FencingLevels("a")[0][0])
}

func TestFencingOffNeedsNoDevices(t *testing.T) {
	m, err := Load("t.yaml", []byte(doc(map[string]string{"cluster": "cluster: {fencing: false}\n", "fence-devices": ""})))
	require.NoError(t, err)
	require.False(t, m.Cluster.Fencing)
	r, _ := m.Resource("r1")
	require.Equal(t, OnFailBlock, r.Stop.OnFail)
	require.Contains(t, m.Summary(), "fencing OFF")
	require.Contains(t, m.Summary(), "a at 127.0.0.1:1, fenced by nothing")
}

func TestSummary(t *testing.T) {
	m := loadFile(t, "../../testdata/configs/failover-pair.yaml")
	want := `cluster oss-pair: 2 hosts, 2 fence devices, 3 resources in 1 group; fencing on
heartbeat every 1s, host lost after 5s, fence timeout 30s
hosts:
  oss1 at 127.0.0.1:7101, fenced by pid-oss1
  oss2 at 127.0.0.1:7102, fenced by pid-oss2
groups:
  fs1 (OST pool 1): domain oss1(1) > oss2(2), restricted, no failback
    policy: recovery restart, ban after 3 failures, forget failures after 10m0s, stickiness 0, max 1 instance, multiple-active stop-unexpected, target started, managed
    pool1 (ZFS pool ost-pool1) ocf:basalt:statefile
      ost0 (Lustre OST0000 mount) ocf:basalt:statefile
      ost1 (Lustre OST0001 mount) ocf:basalt:statefile
`
	require.Equal(t, want, m.Summary())
	require.Equal(t, m.Summary(), m.Summary(), "deterministic")
}

// TestWarnings checks what loads but is probably a mistake: each case makes
// one, and the base configuration makes none.
func TestWarnings(t *testing.T) {
	oneHostDomain := "groups:\n  - id: g\n    members: [{resource: r1}, {resource: r2, parent: r1}]\n" +
		"    placement: {domain: {hosts: [{host: a}]%s}}\n"
	cases := []struct {
		name string
		over map[string]string
		want string // "" for no warning
	}{
		{"base", nil, ""},
		{"fencing off", map[string]string{"cluster": "cluster: {fencing: false}\n", "fence-devices": ""},
			"t.yaml:1: warning: cluster.fencing: fencing is off"},
		{"dead timeout of two heartbeats", map[string]string{"cluster": "cluster:\n  heartbeat-interval: 2s\n  dead-timeout: 5s\n"},
			"t.yaml:3: warning: cluster.dead-timeout: 5s is less than three heartbeats of 2s"},
		{"dead timeout of three heartbeats", map[string]string{"cluster": "cluster: {heartbeat-interval: 2s, dead-timeout: 6s}\n"}, ""},
		{"group tied to one host", map[string]string{"groups": fmt.Sprintf(oneHostDomain, "")},
			`t.yaml:15: warning: groups[0].placement.domain: the group may run only on host "a": it cannot fail over`},
		{"one preferred host, unrestricted", map[string]string{"groups": fmt.Sprintf(oneHostDomain, ", restricted: false")}, ""},
		{"one-host cluster", map[string]string{
			"hosts":         "hosts:\n  - {name: a, address: \"127.0.0.1:1\"}\n",
			"fence-devices": "fence-devices:\n  - {id: fa, agent: fence_x, hosts: {a: a}}\n",
			"groups":        fmt.Sprintf(oneHostDomain, "")}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			text := doc(c.over)
			m, err := Load("t.yaml", []byte(text))
			require.NoError(t, err, "a warning never stops the load:\n%s", text)
			if c.want == "" {
				require.Empty(t, m.Warnings, "\n%s", text)
				return
			}
			require.Len(t, m.Warnings, 1, "\n%s", text)
			require.True(t, strings.HasPrefix(m.Warnings[0].Warning(), c.want), "got %q, want it to start with %q", m.Warnings[0].Warning(), c.want)
		})
	}
}
