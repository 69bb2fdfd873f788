package ocf

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// mapEnv is Env as it was written first, through a map: the reference
// Env's slice must agree with.
func mapEnv(s EnvSpec) []string {
	env := map[string]string{
		"OCF_ROOT": s.Root, "OCF_RA_VERSION_MAJOR": "1", "OCF_RA_VERSION_MINOR": "1",
		"OCF_RESOURCE_INSTANCE": s.Instance, "OCF_RESOURCE_TYPE": s.Agent.Type, "OCF_RESOURCE_PROVIDER": s.Agent.Provider,
		"OCF_RESKEY_CRM_meta_interval": fmt.Sprint(s.Interval.Milliseconds()), "OCF_CHECK_LEVEL": fmt.Sprint(s.Depth),
	}
	if s.Timeout > 0 {
		env["OCF_RESKEY_CRM_meta_timeout"] = fmt.Sprint(s.Timeout.Milliseconds())
	}
	for k, v := range s.Params {
		env["OCF_RESKEY_"+k] = v
	}
	for k, v := range s.Meta {
		env["OCF_RESKEY_CRM_meta_"+k] = v
	}
	for _, kv := range s.Extra {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	var out []string
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Slice(out, func(i, j int) bool { return strings.SplitN(out[i], "=", 2)[0] < strings.SplitN(out[j], "=", 2)[0] })
	return out
}

// TestEnvIsTheMapsEnvironment: the environment built in a slice is the
// one a map of every variable gives, sorted by key, for parameters, meta
// attributes and extra entries in any number, extra entries repeating a
// key (the last wins) and keys that sort before others' prefixes.
func TestEnvIsTheMapsEnvironment(t *testing.T) {
	agent := Agent{Provider: "heartbeat", Type: "Dummy"}
	for i := range 40 {
		s := EnvSpec{Root: "/usr/lib/ocf", Agent: agent, Instance: fmt.Sprintf("r%d", i), Timeout: time.Duration(i%3) * time.Second,
			Interval: time.Duration(i%2) * 10 * time.Second, Depth: i % 4, Params: map[string]string{}, Meta: map[string]string{}}
		for j := range i % 7 {
			s.Params[fmt.Sprintf("p%c", 'a'+j*3%7)] = fmt.Sprintf("v=%d", j)
			s.Params[fmt.Sprintf("p%c_x", 'a'+j)] = ""
		}
		for j := range i % 3 {
			s.Meta[fmt.Sprintf("notify_%d", j)] = fmt.Sprint(j)
		}
		for j := range i % 5 {
			s.Extra = append(s.Extra, fmt.Sprintf("X%d=%d", j%3, j), "PATH=/bin:"+fmt.Sprint(j), "P=1=2")
		}
		got, err := Env(s)
		require.NoError(t, err)
		require.Equal(t, mapEnv(s), got, "spec %d", i)
	}
}
