package agentcheck

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/model"
	"github.com/basalt-ha/basalt/core/ocf"
)

// webMetaData declares "docroot" required, "state" unique, and "address"
// with "port" unique together.
const webMetaData = `<?xml version="1.0"?>
<resource-agent name="web">
<parameters>
<parameter name="docroot" required="1"><shortdesc>document root</shortdesc><content type="string"/></parameter>
<parameter name="state" unique="1"><content type="string"/></parameter>
<parameter name="port" unique-group="listen"><content type="integer"/></parameter>
<parameter name="address" unique-group="listen"><content type="string"/></parameter>
<parameter name="workers"><content type="integer"/></parameter>
</parameters>
</resource-agent>`

// fenceMetaData marks required what basalt sets itself (action, plug) and
// an alias pair (ip, ipaddr), as fence agents do.
const fenceMetaData = `<?xml version="1.0"?>
<resource-agent name="fence_lab" shortdesc="lab">
<parameters>
<parameter name="action" required="1"><content type="string"/></parameter>
<parameter name="plug" required="1"><content type="string"/></parameter>
<parameter name="ip" required="1"><content type="string"/></parameter>
<parameter name="ipaddr" required="1"><content type="string"/></parameter>
<parameter name="username"><content type="string"/></parameter>
</parameters>
</resource-agent>`

func parse(t *testing.T, text string) *ocf.MetaData {
	t.Helper()
	md, err := ocf.ParseMetaData([]byte(text))
	require.NoError(t, err)
	return md
}

var webAgent = ocf.Agent{Provider: "test", Type: "web"}

// rsc is a resource of the web agent.
func rsc(id string, params map[string]string) model.Resource {
	return model.Resource{ID: id, Agent: webAgent, Params: params}
}

func agents(t *testing.T) Agents {
	return Agents{OCF: map[string]Meta{webAgent.String(): {MetaData: parse(t, webMetaData)}},
		Fence: map[string]Meta{"fence_lab": {MetaData: parse(t, fenceMetaData)}}}
}

// kinds is each problem as "KIND ID PARAM".
func kinds(ps []Problem) []string {
	var out []string
	for _, p := range ps {
		out = append(out, string(p.Kind)+" "+p.ID+" "+p.Param)
	}
	return out
}

func TestCheckParams(t *testing.T) {
	m := &model.Model{Resources: []model.Resource{
		rsc("ok", map[string]string{"docroot": "/srv", "workers": "2"}),
		rsc("typo", map[string]string{"docroot": "/srv", "stat": "x", "colour": "blue"}),
		rsc("bare", nil),
	}}
	ps := Check(m, agents(t), Options{})
	require.Equal(t, []string{
		"unknown-parameter typo colour",
		"unknown-parameter typo stat",
		"required-parameter-missing bare ",
	}, kinds(ps))
	require.Equal(t, `resource "typo": ocf:test:web has no parameter "colour"; known: docroot, state, port, address, workers`, ps[0].Msg)
	require.Equal(t, `resource "typo": ocf:test:web has no parameter "stat" (did you mean "state"?); known: docroot, state, port, address, workers`, ps[1].Msg)
	require.Equal(t, `resource "bare": parameter "docroot" (document root) is required by ocf:test:web`, ps[2].Msg)
	for _, p := range ps {
		require.False(t, p.Warning)
		require.False(t, p.Fence)
	}
}

// TestCheckUnique: a unique parameter's value may not repeat among the
// agent's resources; a unique-group's values may not repeat together, but
// one of them may; unset values are not compared (the default is the
// agent's, per instance), nor are other agents' resources.
func TestCheckUnique(t *testing.T) {
	other := ocf.Agent{Provider: "test", Type: "other"}
	a := agents(t)
	a.OCF[other.String()] = Meta{MetaData: parse(t, webMetaData)}
	m := &model.Model{Resources: []model.Resource{
		rsc("one", map[string]string{"docroot": "/a", "state": "/s", "address": "10.0.0.1", "port": "80"}),
		rsc("two", map[string]string{"docroot": "/b", "state": "/s2", "address": "10.0.0.1", "port": "81"}),
		rsc("three", map[string]string{"docroot": "/c", "state": "/s", "address": "10.0.0.1", "port": "80"}),
		rsc("four", map[string]string{"docroot": "/d", "address": "10.0.0.1"}),
		rsc("five", map[string]string{"docroot": "/e", "address": "10.0.0.1"}),
		{ID: "elsewhere", Agent: other, Params: map[string]string{"docroot": "/f", "state": "/s"}},
	}}
	ps := Check(m, a, Options{})
	require.Equal(t, []string{"unique-parameter-reused three state", "unique-parameter-reused three address"}, kinds(ps))
	require.Equal(t, `resource "three": ocf:test:web declares parameter "state" unique, and resource "one" has it "/s" too`, ps[0].Msg)
	require.Equal(t, `resource "three": ocf:test:web declares parameters "address", "port" unique together, and resource "one" has them "10.0.0.1", "80" too`, ps[1].Msg)
}

// TestCheckMissingAgents: an agent not installed is a warning, an error
// when strict; a broken one is always an error; the resources of either
// are not judged on their parameters, and an agent not looked at (absent
// from Agents) is judged on nothing.
func TestCheckMissingAgents(t *testing.T) {
	gone := ocf.Agent{Provider: "test", Type: "gone"}
	broken := ocf.Agent{Provider: "test", Type: "broken"}
	unlooked := ocf.Agent{Provider: "test", Type: "unlooked"}
	a := agents(t)
	a.OCF[gone.String()] = Meta{Missing: true, Err: errors.New("ocf:test:gone is not installed")}
	a.OCF[broken.String()] = Meta{Err: errors.New("ocf:test:broken: meta-data failed")}
	a.Fence["fence_gone"] = Meta{Missing: true, Err: errors.New("fence agent fence_gone is not installed")}
	m := &model.Model{
		Resources: []model.Resource{
			{ID: "g", Agent: gone, Params: map[string]string{"x": "1"}},
			{ID: "b", Agent: broken},
			{ID: "u", Agent: unlooked, Params: map[string]string{"x": "1"}},
		},
		FenceDevices: []model.FenceDevice{{ID: "pdu", Agent: "fence_gone", Params: map[string]string{"x": "1"}}},
	}
	ps := Check(m, a, Options{})
	require.Equal(t, []string{"agent-missing g ", "agent-broken b ", "agent-missing pdu "}, kinds(ps))
	require.True(t, ps[0].Warning)
	require.Equal(t, "ocf:test:gone is not installed; its parameters are not checked", ps[0].Msg)
	require.False(t, ps[1].Warning)
	require.Equal(t, "ocf:test:broken: meta-data failed", ps[1].Msg)
	require.True(t, ps[2].Warning)
	require.True(t, ps[2].Fence)

	ps = Check(m, a, Options{Strict: true})
	require.Equal(t, []string{"agent-missing g ", "agent-broken b ", "agent-missing pdu "}, kinds(ps))
	for _, p := range ps {
		require.False(t, p.Warning, p.ID)
	}
	require.Equal(t, "ocf:test:gone is not installed", ps[0].Msg)
}

// TestCheckFence: a fence device's unknown option is reported, with the
// suggestion among what it may set; the options the agent marks required
// are not demanded (basalt sets action and plug; ip has an alias).
func TestCheckFence(t *testing.T) {
	m := &model.Model{FenceDevices: []model.FenceDevice{
		{ID: "ok", Agent: "fence_lab", Params: map[string]string{"ipaddr": "10.0.0.1"}},
		{ID: "typo", Agent: "fence_lab", Params: map[string]string{"ip": "10.0.0.1", "usrename": "admin"}},
	}}
	ps := Check(m, agents(t), Options{})
	require.Equal(t, []string{"unknown-parameter typo usrename"}, kinds(ps))
	require.True(t, ps[0].Fence)
	require.Equal(t, `fence device "typo": fence_lab has no parameter "usrename" (did you mean "username"?); known: ip, ipaddr, username`, ps[0].Msg)
}

func TestSuggest(t *testing.T) {
	for _, c := range []struct {
		name string
		in   []string
		want string
	}{
		{"stat", []string{"state", "delay"}, "state"},
		{"State", []string{"state"}, "state"},
		{"ipadr", []string{"ip", "ipaddr"}, "ipaddr"},
		{"dirctory", []string{"device", "directory"}, "directory"},
		{"ab", []string{"xy"}, ""},
		{"colour", []string{"path", "state"}, ""},
		{"x", nil, ""},
		{"abc", []string{"abd", "abe"}, "abd"}, // a tie: the first in order
	} {
		require.Equal(t, c.want, Suggest(c.name, c.in), c.name)
	}
	require.Equal(t, 3, EditDistance("kitten", "sitting"))
	require.Equal(t, 0, EditDistance("", ""))
	require.Equal(t, 4, EditDistance("", "état"))
	require.Equal(t, 1, EditDistance("fkae", "fake"), "a swap is one edit")
	require.Equal(t, 3, EditDistance("ca", "abc"), "optimal string alignment: a swapped pair is not edited again")
}
