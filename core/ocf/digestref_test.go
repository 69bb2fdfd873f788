package ocf

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fmtDigest is Digest as it was written first, through fmt into the hash:
// the reference Digest's buffer must agree with.
func fmtDigest(a Agent, params map[string]string) string {
	h := sha256.New()
	h.Write([]byte(a.String()))
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(h, "\x00%d:%s=%d:%s", len(k), k, len(params[k]), params[k])
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// TestDigestIsFmtsDigest: for no, few and many parameters (past the
// stack buffers), short and long values.
func TestDigestIsFmtsDigest(t *testing.T) {
	agent := Agent{Provider: "heartbeat", Type: "IPaddr2"}
	for i := range 40 {
		params := map[string]string{}
		if i == 0 {
			params = nil
		}
		for j := range i {
			params[fmt.Sprintf("p%d", j*7%40)] = strings.Repeat("v", j*j)
		}
		require.Equal(t, fmtDigest(agent, params), Digest(agent, params), "params %d", i)
	}
}

// TestPathIsJoin: Path's concatenation is path.Join's path, for roots
// clean and not.
func TestPathIsJoin(t *testing.T) {
	for _, root := range []string{"/", "//", "/usr/lib/ocf", "/usr/lib/ocf/", "/a/../b", "/a/./b//", "/.."} {
		for _, a := range []Agent{{"heartbeat", "Dummy"}, {"...", "x.y"}, {"p", "a..b"}} {
			got, err := a.Path(root)
			require.NoError(t, err)
			require.Equal(t, path.Join(path.Clean(root), "resource.d", a.Provider, a.Type), got)
		}
	}
}

// TestEnvAllocations holds Env and Digest to their allocations: the
// environment's text and list, the digest's string.
func TestEnvAllocations(t *testing.T) {
	s := EnvSpec{Root: "/usr/lib/ocf", Agent: Agent{Provider: "heartbeat", Type: "Dummy"}, Instance: "r1", Timeout: 20 * time.Second,
		Interval: 10 * time.Second, Params: map[string]string{"state": "/run/x", "fake": "y"}, Extra: []string{"PATH=/bin"}}
	require.Equal(t, 2.0, testing.AllocsPerRun(100, func() { _, _ = Env(s) }))
	require.Equal(t, 1.0, testing.AllocsPerRun(100, func() { _ = Digest(s.Agent, s.Params) }))
}
