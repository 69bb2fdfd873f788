package admin

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/model"
	"github.com/basalt-ha/basalt/live/api"
	"github.com/basalt-ha/basalt/live/daemon"
	"github.com/basalt-ha/basalt/live/store"
)

// pairConfig is the failover pair's file, what serve starts on.
func pairConfig(t *testing.T) string {
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "configs", "failover-pair.yaml"))
	require.NoError(t, err)
	return string(data)
}

// postTo sends body to path and returns the status and answer.
func postTo(t *testing.T, sock, path, body string) (int, string) {
	c := http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	resp, err := c.Post("http://basalt"+path, "application/json", strings.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(out)
}

// The configuration endpoints: version 0 is the start-up file, whole; a
// preview changes nothing; an apply is the next version, in GET
// /v1/config and in the status, with its change, transition and report;
// the same file again is empty and recorded nowhere.
func TestAdminConfigApply(t *testing.T) {
	sock, _ := serve(t)
	c := api.NewClient(sock)
	orig := pairConfig(t)
	v, err := c.Config()
	require.NoError(t, err)
	require.Equal(t, api.ConfigView{Version: 0, Text: orig}, v)

	next := strings.Replace(orig, "/run/basalt/oss/ost1.state", "/run/basalt/oss/ost1-b.state", 1)
	p, err := c.PreviewConfig(api.ConfigRequest{Text: next, Source: "next.yaml"})
	require.NoError(t, err)
	require.Equal(t, 1, p.Version)
	require.Equal(t, []string{"~ resource ost1"}, p.Change)
	require.Empty(t, p.Report, "a preview opens no report")
	v, err = c.Config()
	require.NoError(t, err)
	require.Equal(t, 0, v.Version, "a preview changes nothing")

	a, err := c.ApplyConfig(api.ConfigRequest{Text: next, Source: "next.yaml"})
	require.NoError(t, err)
	require.Equal(t, 1, a.Version)
	require.Equal(t, []string{"~ resource ost1"}, a.Change)
	require.NotEmpty(t, a.Report)
	var rep api.ReportView
	require.NoError(t, c.Do("GET", "/v1/reports/"+a.Report, nil, &rep))
	require.Equal(t, "config apply", rep.Request)
	v, err = c.Config()
	require.NoError(t, err)
	require.Equal(t, api.ConfigView{Version: 1, Text: next}, v)
	st, err := c.Status()
	require.NoError(t, err)
	require.Equal(t, &api.ConfigView{Version: 1, Text: next}, st.Config)

	again, err := c.ApplyConfig(api.ConfigRequest{Text: next})
	require.NoError(t, err)
	require.True(t, again.Empty)
	require.Equal(t, 1, again.Version, "nothing recorded: the version stays")
	require.Empty(t, again.Report)
	require.Empty(t, again.Change)
}

// Refusals name what is wrong and change nothing: a file that does not
// load (its line), removing a host that is not off, a body past the
// limit. Removing a group leaves it as an orphan to stop, marked so.
func TestAdminConfigRefusalsAndOrphans(t *testing.T) {
	sock, _ := serve(t)
	c := api.NewClient(sock)
	orig := pairConfig(t)
	code, out := postTo(t, sock, "/v1/config/apply", `{"text":"cluster: {name: x, bogus: 1}\n"}`)
	require.Equal(t, http.StatusBadRequest, code, out)
	require.Contains(t, out, "bogus")
	noHost := strings.Replace(orig, "  - name: oss2\n    address: 127.0.0.1:7102\n", "", 1)
	noHost = strings.Replace(noHost, "          - host: oss2\n", "", 1)
	noHost = noHost[:strings.Index(noHost, "  - id: pid-oss2")] + noHost[strings.Index(noHost, "\nresources:"):]
	_, err := c.ApplyConfig(api.ConfigRequest{Text: noHost})
	require.ErrorContains(t, err, "host oss2 is removed but is unclean")
	code, out = postTo(t, sock, "/v1/config/preview", `{"text":"`+strings.Repeat("x", 2<<20)+`"}`)
	require.Equal(t, http.StatusRequestEntityTooLarge, code)
	require.Contains(t, out, "configuration too large: the request's limit is 1048576 bytes")
	code, out = postTo(t, sock, "/v1/config/apply", `{"text":"x","bogus":1}`)
	require.Equal(t, http.StatusBadRequest, code, out)
	v, err := c.Config()
	require.NoError(t, err)
	require.Equal(t, 0, v.Version, "every refusal changed nothing")

	// The agents never answered: fs1's resources may run, so removing
	// the group leaves it an orphan, to be stopped.
	noGroup := orig[:strings.Index(orig, "\nresources:")] + "\n"
	a, err := c.ApplyConfig(api.ConfigRequest{Text: noGroup})
	require.NoError(t, err)
	require.Contains(t, a.Change, "- group fs1")
	st, err := c.Status()
	require.NoError(t, err)
	require.Len(t, st.Groups, 1)
	require.True(t, st.Groups[0].Orphan, "%+v", st.Groups[0])
	require.Equal(t, "stopped", st.Groups[0].Target)
}

// A standby refuses the configuration POSTs, naming the leader.
func TestAdminConfigOnStandby(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "m2.sock")
	srv, err := ServeSource(standbySource{}, sock, 0o600, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Close() })
	for _, path := range []string{"/v1/config/apply", "/v1/config/preview"} {
		code, out := postTo(t, sock, path, `{"text":"x"}`)
		require.Equal(t, http.StatusServiceUnavailable, code, path)
		require.Contains(t, out, "this manager stands by: m1 leads (epoch 42)", path)
	}
}

// A restarted manager runs the configuration applied last, not its
// start-up file, and shows it as such.
func TestAdminConfigSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	orig := pairConfig(t)
	m, err := model.Load("failover-pair.yaml", []byte(orig))
	require.NoError(t, err)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	start := func() (*daemon.ManagerDaemon, func()) {
		st, err := store.OpenDir(filepath.Join(dir, "state"))
		require.NoError(t, err)
		d, err := daemon.StartManagerDaemon(daemon.ManagerDaemonConfig{Model: m, StartupConfig: orig, Store: st, Insecure: true,
			Clock: clock.New(), Log: log})
		require.NoError(t, err)
		return d, func() { d.Stop(); st.Close() }
	}
	d, stop := start()
	next := strings.Replace(orig, "name: Lustre OST0001 mount", "name: Lustre OST0001", 1)
	_, _, empty, err := d.ApplyConfig(next, "")
	require.NoError(t, err)
	require.False(t, empty)
	stop()
	d2, stop2 := start()
	t.Cleanup(stop2)
	sock := filepath.Join(dir, "manager.sock")
	srv, err := Serve(d2, sock, 0o600, log)
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Close() })
	v, err := api.NewClient(sock).Config()
	require.NoError(t, err)
	require.Equal(t, api.ConfigView{Version: 1, Text: next}, v)
	st, err := api.NewClient(sock).Status()
	require.NoError(t, err)
	require.Equal(t, "Lustre OST0001", st.Groups[0].Resources[2].Name)
}
