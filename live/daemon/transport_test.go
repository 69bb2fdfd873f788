package daemon

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/agent"
	"github.com/basalt-ha/basalt/core/lrm"
	"github.com/basalt-ha/basalt/core/proto"
	"github.com/basalt-ha/basalt/core/storage"
	"github.com/basalt-ha/basalt/live/certs"
	"github.com/basalt-ha/basalt/live/process"
	"github.com/basalt-ha/basalt/live/store"
	"github.com/basalt-ha/basalt/live/transport"
)

type accepted struct {
	c   *transport.Conn
	err error
}

func serve(t *testing.T, dir, host string) (*transport.Listener, chan accepted) {
	cfg, err := certs.AgentTLS(dir, host)
	require.NoError(t, err)
	l, err := transport.Listen("127.0.0.1:0", cfg)
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	ch := make(chan accepted, 4)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil && !errors.Is(err, transport.ErrRefused) {
				return
			}
			ch <- accepted{c, err}
		}
	}()
	return l, ch
}

func next(t *testing.T, ch chan accepted) accepted {
	select {
	case a := <-ch:
		return a
	case <-time.After(10 * time.Second):
		t.Fatal("no connection accepted")
		return accepted{}
	}
}

func TestMutualTLSCarriesMessages(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "certs")
	require.NoError(t, certs.InitCerts(dir, []string{"h1", "h2"}, time.Hour, false))
	require.ErrorContains(t, certs.InitCerts(dir, []string{"h1"}, time.Hour, false), "already holds ca-key.pem, ca.pem, h1-key.pem, h1.pem")
	l, ch := serve(t, dir, "h1")
	cfg, err := certs.ManagerTLS(dir, "h1")
	require.NoError(t, err)
	mc, err := transport.Dial(context.Background(), l.Addr(), cfg)
	require.NoError(t, err)
	defer mc.Close()
	a := next(t, ch)
	require.NoError(t, a.err)
	defer a.c.Close()
	require.NoError(t, mc.Send(proto.Heartbeat{Host: "h1", Epoch: 2, Seq: 5}))
	got, err := a.c.Recv()
	require.NoError(t, err)
	require.Equal(t, proto.Heartbeat{Host: "h1", Epoch: 2, Seq: 5}, got)
	require.NoError(t, a.c.Send(proto.Hello{Host: "h1"}))
	back, err := mc.Recv()
	require.NoError(t, err)
	require.Equal(t, proto.Hello{Host: "h1"}, back)
}

func TestAgentRefusesPeersWithoutTheManagersCertificate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "certs")
	require.NoError(t, certs.InitCerts(dir, []string{"h1", "h2"}, time.Hour, false))
	other := filepath.Join(t.TempDir(), "other")
	require.NoError(t, certs.InitCerts(other, []string{"h1"}, time.Hour, false))
	l, ch := serve(t, dir, "h1")

	// No client certificate at all.
	pool, err := certs.LoadPool(dir)
	require.NoError(t, err)
	c, err := tls.Dial("tcp", l.Addr(), &tls.Config{RootCAs: pool, ServerName: "h1", MinVersion: tls.VersionTLS13})
	if err == nil {
		_, _ = c.Read(make([]byte, 1)) // TLS 1.3 reports client-auth failure on first read
		c.Close()
	}
	a := next(t, ch)
	require.ErrorIs(t, a.err, transport.ErrRefused)
	require.Contains(t, a.err.Error(), "certificate")

	// A manager certificate from another cluster's CA.
	foreign, err := certs.ManagerTLS(other, "h1")
	require.NoError(t, err)
	foreign.RootCAs = pool // it trusts our agent, but we must not trust it
	if c, err := transport.Dial(context.Background(), l.Addr(), foreign); err == nil {
		_, _ = c.Recv()
		c.Close()
	}
	a = next(t, ch)
	require.ErrorIs(t, a.err, transport.ErrRefused)
	require.Contains(t, a.err.Error(), "unknown authority")

	// Another host's certificate, from our own CA: not the manager.
	hostCert, err := certs.LoadPair(dir, "h2")
	require.NoError(t, err)
	if c, err := transport.Dial(context.Background(), l.Addr(), &tls.Config{Certificates: []tls.Certificate{hostCert}, RootCAs: pool, ServerName: "h1", MinVersion: tls.VersionTLS13}); err == nil {
		_, _ = c.Recv()
		c.Close()
	}
	a = next(t, ch)
	require.ErrorIs(t, a.err, transport.ErrRefused)
	require.Contains(t, a.err.Error(), `names "h2", not the manager`)
}

func TestManagerRefusesAnAgentNamingAnotherHost(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "certs")
	require.NoError(t, certs.InitCerts(dir, []string{"h1", "h2"}, time.Hour, false))
	l, _ := serve(t, dir, "h2") // h2's agent answers where h1's is expected
	cfg, err := certs.ManagerTLS(dir, "h1")
	require.NoError(t, err)
	_, err = transport.Dial(context.Background(), l.Addr(), cfg)
	require.ErrorContains(t, err, "h1")
	require.ErrorContains(t, err, "certificate")
}

// syncBuffer is a log sink safe for the daemon's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestAgentDaemonLogsWhyItRefusedAPeer(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "certs")
	require.NoError(t, certs.InitCerts(dir, []string{"h1"}, time.Hour, false))
	other := filepath.Join(t.TempDir(), "other")
	require.NoError(t, certs.InitCerts(other, []string{"h1"}, time.Hour, false))
	cfg, err := certs.AgentTLS(dir, "h1")
	require.NoError(t, err)
	st, err := store.OpenDir(filepath.Join(t.TempDir(), "state"))
	require.NoError(t, err)
	defer st.Close()
	var logs syncBuffer
	d, err := StartAgentDaemon(AgentDaemonConfig{
		Agent:  agent.Config{Host: "h1", HeartbeatInterval: time.Second, LRM: lrm.Config{OCFRoot: "/usr/lib/ocf"}},
		Listen: "127.0.0.1:0", TLS: cfg, Store: st, Clock: clock.New(), Runner: process.NewRunner(),
		Log: slog.New(slog.NewTextHandler(&logs, nil)),
	})
	require.NoError(t, err)
	defer d.Stop()
	foreign, err := certs.ManagerTLS(other, "h1")
	require.NoError(t, err)
	pool, err := certs.LoadPool(dir)
	require.NoError(t, err)
	foreign.RootCAs = pool
	if c, err := transport.Dial(context.Background(), d.Addr(), foreign); err == nil {
		_, _ = c.Recv()
		c.Close()
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), "refused a connection") {
		require.True(t, time.Now().Before(deadline), "no refusal logged; logs:\n%s", logs.String())
		time.Sleep(10 * time.Millisecond)
	}
	require.Contains(t, logs.String(), "unknown authority")

	_, err = StartAgentDaemon(AgentDaemonConfig{Agent: agent.Config{Host: "h1", HeartbeatInterval: time.Second,
		LRM: lrm.Config{OCFRoot: "/usr/lib/ocf"}}, Listen: "0.0.0.0:0", Insecure: true, Store: storage.NewMem(),
		Clock: clock.New(), Runner: process.NewRunner(), Log: quietLog()})
	require.ErrorContains(t, err, "binds only to a loopback address")
}
