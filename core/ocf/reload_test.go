package ocf

import (
	"slices"
	"testing"
)

// metaXML builds meta-data with the given OCF version, parameters and
// actions, as the heartbeat and pacemaker Dummy agents shape theirs.
func metaXML(version, params, actions string) []byte {
	return []byte(`<?xml version="1.0"?><resource-agent name="Dummy" version="1.0"><version>` + version +
		`</version><parameters>` + params + `</parameters><actions><action name="start" timeout="20s"/>` + actions +
		`</actions></resource-agent>`)
}

func TestReloadabilityOf(t *testing.T) {
	a := Agent{Provider: "heartbeat", Type: "Dummy"}
	legacyParams := `<parameter name="state" unique="1"/><parameter name="fake" unique="0"/>`
	agentParams := `<parameter name="state" unique-group="state"/><parameter name="fake" reloadable="1"/>`
	params := map[string]string{"state": "/run/x", "fake": "a"}
	for _, tc := range []struct {
		name   string
		xml    []byte
		action Action
		force  []string
	}{
		// heartbeat:Dummy: OCF 1.0, reload only: non-unique reloads.
		{"legacy reload", metaXML("1.0", legacyParams, `<action name="reload" timeout="20s"/>`), Reload, []string{"state"}},
		// pacemaker:Dummy: OCF 1.1 with reload-agent: reloadable="1" decides.
		{"reload-agent", metaXML("1.1", agentParams, `<action name="reload" timeout="20s"/><action name="reload-agent" timeout="20s"/>`), ReloadAgent, []string{"state"}},
		// reload-agent wins over the legacy rule: fake is unique=0 but not reloadable.
		{"reload-agent ignores unique", metaXML("1.1", legacyParams, `<action name="reload-agent" timeout="20s"/>`), ReloadAgent, []string{"fake", "state"}},
		// An OCF 1.1 agent's reload reloads its service, not its parameters.
		{"OCF 1.1 reload only", metaXML("1.1", legacyParams, `<action name="reload" timeout="20s"/>`), "", nil},
		{"no reload", metaXML("1.0", legacyParams, ""), "", nil},
	} {
		md, err := ParseMetaData(tc.xml)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		got := ReloadabilityOf(md, a, params)
		if got.Action != tc.action || !slices.Equal(got.ForceRestart, tc.force) {
			t.Errorf("%s: got action %q force %v, want %q %v", tc.name, got.Action, got.ForceRestart, tc.action, tc.force)
		}
		if tc.action != "" && got.RestartDigest != RestartDigest(a, params, tc.force) {
			t.Errorf("%s: restart digest %s is not that of %v", tc.name, got.RestartDigest, tc.force)
		}
	}
	if got := ReloadabilityOf(nil, a, params); got.CanReload() {
		t.Errorf("no meta-data: got %+v, want no reload", got)
	}
}

func TestRestartDigest(t *testing.T) {
	a := Agent{Provider: "heartbeat", Type: "Dummy"}
	force := []string{"state"}
	base := RestartDigest(a, map[string]string{"state": "s", "fake": "a"}, force)
	if RestartDigest(a, map[string]string{"state": "s", "fake": "b"}, force) != base {
		t.Error("a reloadable parameter's change changed the restart digest")
	}
	if RestartDigest(a, map[string]string{"state": "t", "fake": "a"}, force) == base {
		t.Error("a forcing parameter's change left the restart digest alone")
	}
	if RestartDigest(Agent{Provider: "pacemaker", Type: "Dummy"}, map[string]string{"state": "s"}, force) == base {
		t.Error("another agent has the same restart digest")
	}
	// An undeclared parameter, configured at start, forces a restart:
	md, _ := ParseMetaData(metaXML("1.0", `<parameter name="state" unique="1"/>`, `<action name="reload" timeout="20s"/>`))
	r := ReloadabilityOf(md, a, map[string]string{"state": "s", "extra": "1"})
	if !slices.Equal(r.ForceRestart, []string{"extra", "state"}) {
		t.Errorf("undeclared parameter: force %v, want [extra state]", r.ForceRestart)
	}
}
