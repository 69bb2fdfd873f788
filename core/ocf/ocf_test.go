package ocf

import (
	"os"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

func TestParseAgent(t *testing.T) {
	a, err := ParseAgent("ocf:heartbeat:Dummy")
	require.NoError(t, err)
	require.Equal(t, Agent{Provider: "heartbeat", Type: "Dummy"}, a)
	require.Equal(t, "ocf:heartbeat:Dummy", a.String())
	p, err := a.Path("/usr/lib/ocf/")
	require.NoError(t, err)
	require.Equal(t, "/usr/lib/ocf/resource.d/heartbeat/Dummy", p)

	for in, why := range map[string]string{
		"heartbeat:Dummy":         "want ocf:<provider>:<type>",
		"lsb:heartbeat:Dummy":     `class "lsb"`,
		"ocf::Dummy":              "provider is empty",
		"ocf:heartbeat:":          "type is empty",
		"ocf:..:Dummy":            `provider ".." is not a plain name`,
		"ocf:heartbeat:../../bin": `type "../../bin" is not a plain name`,
		"ocf:heartbeat:-rf":       "must not start with '-'",
		"ocf:a:b:c":               "want ocf:<provider>:<type>",
		"ocf:heart beat:Dummy":    "space or control",
	} {
		_, err := ParseAgent(in)
		require.Error(t, err, in)
		require.Contains(t, err.Error(), why, in)
		require.Contains(t, err.Error(), in, "the error names the input")
	}
	_, err = Agent{}.Path("/usr/lib/ocf")
	require.Error(t, err)
	_, err = a.Path("relative/root")
	require.ErrorContains(t, err, "not an absolute path")
}

func TestParseAction(t *testing.T) {
	for _, s := range []string{"start", "stop", "monitor", "meta-data", "validate-all", "promote", "demote",
		"notify", "reload", "reload-agent", "migrate_to", "migrate_from"} {
		a, err := ParseAction(s)
		require.NoError(t, err)
		require.Equal(t, s, string(a))
	}
	_, err := ParseAction("restart")
	require.ErrorContains(t, err, `"restart" is not an OCF action`)
}

func TestEnv(t *testing.T) {
	env, err := Env(EnvSpec{
		Root: "/usr/lib/ocf", Agent: Agent{"heartbeat", "Dummy"}, Instance: "db1",
		Params:  map[string]string{"state": "/run/x $(touch pwned)", "fake": ""},
		Timeout: 20 * time.Second, Interval: 10 * time.Second, Depth: 10, Extra: []string{"PATH=/bin"},
	})
	require.NoError(t, err)
	require.Equal(t, []string{
		"OCF_CHECK_LEVEL=10",
		"OCF_RA_VERSION_MAJOR=1",
		"OCF_RA_VERSION_MINOR=1",
		"OCF_RESKEY_CRM_meta_interval=10000",
		"OCF_RESKEY_CRM_meta_timeout=20000",
		"OCF_RESKEY_fake=",
		"OCF_RESKEY_state=/run/x $(touch pwned)",
		"OCF_RESOURCE_INSTANCE=db1",
		"OCF_RESOURCE_PROVIDER=heartbeat",
		"OCF_RESOURCE_TYPE=Dummy",
		"OCF_ROOT=/usr/lib/ocf",
		"PATH=/bin",
	}, env)

	base := EnvSpec{Root: "/r", Agent: Agent{"p", "t"}, Instance: "i"}
	for name, mutate := range map[string]func(*EnvSpec){
		"bad param":        func(s *EnvSpec) { s.Params = map[string]string{"a-b": "x"} },
		"reserved param":   func(s *EnvSpec) { s.Params = map[string]string{"CRM_meta_timeout": "1"} },
		"NUL value":        func(s *EnvSpec) { s.Params = map[string]string{"a": "x\x00y"} },
		"empty instance":   func(s *EnvSpec) { s.Instance = "" },
		"extra no equals":  func(s *EnvSpec) { s.Extra = []string{"PATH"} },
		"extra overriding": func(s *EnvSpec) { s.Extra = []string{"OCF_ROOT=/evil"} },
		"no root":          func(s *EnvSpec) { s.Root = "" },
		"bad meta":         func(s *EnvSpec) { s.Meta = map[string]string{"notify-type": "pre"} },
		"meta timeout":     func(s *EnvSpec) { s.Meta = map[string]string{"timeout": "1"} },
		"NUL meta":         func(s *EnvSpec) { s.Meta = map[string]string{"clone": "0\x00"} },
	} {
		s := base
		mutate(&s)
		_, err := Env(s)
		require.Error(t, err, name)
	}
}

// TestEnvMeta: meta attributes reach the agent as Pacemaker names them,
// OCF_RESKEY_CRM_meta_<name>, values verbatim (a notification's lists keep
// their spaces).
func TestEnvMeta(t *testing.T) {
	env, err := Env(EnvSpec{Root: "/r", Agent: Agent{"pacemaker", "Dummy"}, Instance: "d:1",
		Meta: map[string]string{"clone": "1", "notify_type": "pre", "notify_start_uname": "a b"}})
	require.NoError(t, err)
	require.Contains(t, env, "OCF_RESKEY_CRM_meta_clone=1")
	require.Contains(t, env, "OCF_RESKEY_CRM_meta_notify_type=pre")
	require.Contains(t, env, "OCF_RESKEY_CRM_meta_notify_start_uname=a b")
}

func TestValidParamName(t *testing.T) {
	for _, ok := range []string{"state", "a", "_x", "A1_b"} {
		require.NoError(t, ValidParamName(ok))
	}
	for _, bad := range []string{"", "1a", "a-b", "a b", "a=b", "CRM_meta_x", "é"} {
		require.Error(t, ValidParamName(bad), bad)
	}
}

func TestRCNames(t *testing.T) {
	require.Equal(t, "OCF_SUCCESS", OK.String())
	require.Equal(t, "OCF_NOT_RUNNING", NotRunning.String())
	require.Equal(t, "OCF_DEGRADED_PROMOTED", DegradedPromoted.String())
	require.Equal(t, "unknown(42)", RC(42).String())
	require.True(t, Degraded.Known())
	require.False(t, RC(10).Known())
}

func TestClassifyTable(t *testing.T) {
	type row struct {
		rc                                   RC
		start, stop, monitor, probe, promote Outcome
	}
	S, St, P, D, Soft, H, F := Success, Stopped, Promoted, DegradedRunning, SoftFailure, HardFailure, FatalFailure
	rows := []row{
		{OK, S, S, S, S, S},
		{ErrGeneric, Soft, Soft, Soft, Soft, Soft},
		{ErrArgs, H, H, H, H, H},
		{ErrUnimplemented, H, H, H, H, H},
		{ErrPerm, H, H, H, H, H},
		{ErrInstalled, H, H, H, St, H},
		{ErrConfigured, F, F, F, F, F},
		{NotRunning, Soft, S, Soft, St, Soft},
		{RunningPromoted, P, Soft, P, P, P},
		{FailedPromoted, Soft, Soft, Soft, Soft, Soft},
		{Degraded, D, Soft, D, D, D},
		{DegradedPromoted, D, Soft, D, D, D},
		{RC(42), Soft, Soft, Soft, Soft, Soft},
	}
	for _, r := range rows {
		require.Equal(t, r.start, Classify(Start, r.rc, false), "start %s", r.rc)
		require.Equal(t, r.stop, Classify(Stop, r.rc, false), "stop %s", r.rc)
		require.Equal(t, r.monitor, Classify(Monitor, r.rc, false), "monitor %s", r.rc)
		require.Equal(t, r.probe, Classify(Monitor, r.rc, true), "probe %s", r.rc)
		require.Equal(t, r.promote, Classify(Promote, r.rc, false), "promote %s", r.rc)
		require.Equal(t, r.promote, Classify(Demote, r.rc, false), "demote %s", r.rc)
	}
	require.Equal(t, SoftFailure, Classify(ValidateAll, Degraded, false))
	require.Equal(t, FatalFailure, Classify(ValidateAll, ErrConfigured, false))
	require.True(t, HardFailure.Failed())
	require.False(t, DegradedRunning.Failed())
}

func TestExitReason(t *testing.T) {
	require.Equal(t, "", ExitReason(nil))
	require.Equal(t, "", ExitReason([]byte("plain noise\n")))
	require.Equal(t, "second", ExitReason([]byte("ocf-exit-reason:first\nx\nocf-exit-reason: second \n")))
	require.Equal(t, "bell", ExitReason([]byte("ocf-exit-reason:be\x07ll")))
	long := ExitReason([]byte("ocf-exit-reason:" + strings.Repeat("é", 300)))
	require.LessOrEqual(t, len(long), maxExitReason)
	require.True(t, strings.HasPrefix(long, "éé"))
}

func TestStderrReason(t *testing.T) {
	require.Equal(t, "", StderrReason(nil))
	require.Equal(t, "", StderrReason([]byte("\n  \n\t\n")), "blanks say nothing")
	require.Equal(t, "stderr: mount: /srv: special device /dev/sdz does not exist",
		StderrReason([]byte("\n\n  mount: /srv: special device /dev/sdz does not exist\r\nsecond line\n")), "the first non-empty line, trimmed")
	require.Equal(t, "stderr: bell", StderrReason([]byte("be\x07ll")), "control characters dropped")
	long := StderrReason([]byte(strings.Repeat("é", 300)))
	require.LessOrEqual(t, len(long), maxExitReason, "capped like an exit reason, prefix included")
	require.True(t, strings.HasPrefix(long, StderrPrefix+"éé"))
	require.True(t, utf8.ValidString(long), "not cut inside a character")
}

func TestParseMetaData(t *testing.T) {
	data, err := os.ReadFile("testdata/sample-meta.xml")
	require.NoError(t, err)
	m, err := ParseMetaData(data)
	require.NoError(t, err)
	require.Equal(t, "sample", m.Name)
	require.Equal(t, "1.1", m.Version)
	require.Equal(t, "Sample agent", m.ShortDesc)
	st, ok := m.Parameter("state")
	require.True(t, ok)
	require.True(t, st.Required)
	require.True(t, st.Unique)
	require.Equal(t, "state", st.UniqueGroup, "unique together with the rest of its group")
	require.Equal(t, "/run/sample.state", st.Default)
	dl, _ := m.Parameter("delay")
	require.True(t, dl.Reloadable)
	require.Equal(t, "integer", dl.Type)
	mon, ok := m.Action(Monitor)
	require.True(t, ok)
	require.Equal(t, 20*time.Second, mon.Timeout)
	require.Equal(t, 10*time.Second, mon.Interval)
	require.Len(t, m.Actions, 6)
	require.Equal(t, 10, m.Actions[3].Depth)
	require.Equal(t, 500*time.Millisecond, m.Actions[3].StartDelay)
	stop, _ := m.Action(Stop)
	require.Equal(t, 2*time.Minute, stop.Timeout)

	err = m.CheckParams(map[string]string{"bogus": "1"})
	require.ErrorContains(t, err, "parameter state is required by sample")
	require.ErrorContains(t, err, "parameter bogus is not declared by sample")
	require.NoError(t, m.CheckParams(map[string]string{"state": "/x"}))
}

func TestParseMetaDataErrors(t *testing.T) {
	for name, tc := range map[string]struct{ xml, want string }{
		"empty":      {"", "no <resource-agent> element"},
		"garbage":    {"hello", "meta-data"},
		"truncated":  {`<resource-agent name="x"><parameters><parameter name="a">`, "meta-data"},
		"wrong root": {`<agent name="x"/>`, "resource-agent"},
		"bad timeout": {`<resource-agent name="x"><actions><action name="start" timeout="soon"/></actions></resource-agent>`,
			`<action name="start">: attribute timeout: "soon" is not a duration`},
		"nameless param": {`<resource-agent name="x"><parameters><parameter/></parameters></resource-agent>`,
			"<parameter> #1: attribute name is missing"},
		"bad bool": {`<resource-agent name="x"><parameters><parameter name="p" required="maybe"/></parameters></resource-agent>`,
			`<parameter name="p">: attribute required: "maybe" is not a boolean`},
		"bad depth": {`<resource-agent name="x"><actions><action name="monitor" depth="-1"/></actions></resource-agent>`,
			"attribute depth"},
		"no name": {`<resource-agent/>`, "attribute name is missing"},
	} {
		_, err := ParseMetaData([]byte(tc.xml))
		require.Error(t, err, name)
		require.Contains(t, err.Error(), tc.want, name)
	}
}

func TestParseInterval(t *testing.T) {
	for in, want := range map[string]time.Duration{"": 0, "20": 20 * time.Second, "20s": 20 * time.Second,
		"100ms": 100 * time.Millisecond, "1m": time.Minute, "2min": 2 * time.Minute, "1h": time.Hour, " 5s ": 5 * time.Second} {
		got, err := ParseInterval(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	for _, bad := range []string{"s", "-1s", "1.5s", "10x", "9999999999s"} {
		_, err := ParseInterval(bad)
		require.Error(t, err, bad)
	}
}

func FuzzParseMetaData(f *testing.F) {
	data, err := os.ReadFile("testdata/sample-meta.xml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add(data[:len(data)/2])
	f.Add([]byte(`<resource-agent name="x"><actions><action name="a" timeout="1"/></actions></resource-agent>`))
	f.Fuzz(func(t *testing.T, in []byte) {
		m, err := ParseMetaData(in)
		if err == nil && m == nil {
			t.Fatal("nil meta-data without an error")
		}
		if err == nil && m.Name == "" {
			t.Fatal("accepted meta-data without a name")
		}
	})
}

func FuzzParseAgent(f *testing.F) {
	for _, s := range []string{"ocf:heartbeat:Dummy", "ocf:..:x", "ocf:a/b:c", "ocf:a:b:c", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAgent(s)
		if err != nil {
			return
		}
		again, err := ParseAgent(a.String())
		if err != nil || again != a {
			t.Fatalf("%q parsed to %+v, which does not re-parse (%v)", s, a, err)
		}
		p, err := a.Path("/usr/lib/ocf")
		if err != nil {
			t.Fatalf("path of valid agent %+v: %v", a, err)
		}
		if !strings.HasPrefix(p, "/usr/lib/ocf/resource.d/") || strings.Count(p[len("/usr/lib/ocf/resource.d/"):], "/") != 1 {
			t.Fatalf("path %q of %q escapes the agent tree", p, s)
		}
	})
}

// TestRoleOutcome: a monitor seeing the other role fails, 191 is running
// promoted (degraded, no failure), 9 always fails, a demote answered 8
// failed.
func TestRoleOutcome(t *testing.T) {
	for _, c := range []struct {
		action   Action
		rc       RC
		promoted bool
		want     Outcome
	}{
		{Monitor, RunningPromoted, true, Promoted},
		{Monitor, DegradedPromoted, true, DegradedRunning},
		{Monitor, OK, true, SoftFailure},
		{Monitor, Degraded, true, SoftFailure},
		{Monitor, FailedPromoted, true, SoftFailure},
		{Monitor, OK, false, Success},
		{Monitor, Degraded, false, DegradedRunning},
		{Monitor, RunningPromoted, false, SoftFailure},
		{Monitor, DegradedPromoted, false, SoftFailure},
		{Promote, OK, true, Success},
		{Promote, RunningPromoted, true, Promoted},
		{Promote, ErrGeneric, true, SoftFailure},
		{Demote, OK, false, Success},
		{Demote, RunningPromoted, false, SoftFailure},
	} {
		got := RoleOutcome(c.action, c.rc, Classify(c.action, c.rc, false), c.promoted)
		if got != c.want {
			t.Errorf("%s rc %d (promoted %v): %s, want %s", c.action, c.rc, c.promoted, got, c.want)
		}
	}
	if !PromotedRC(FailedPromoted) || !PromotedRC(DegradedPromoted) || PromotedRC(Degraded) {
		t.Error("PromotedRC: 8, 9 and 191 are the promoted role, 190 is not")
	}
}
