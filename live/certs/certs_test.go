package certs

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A host named after the CA's or the manager's files must not overwrite
// them: before the fix, a host "manager" replaced the manager's certificate
// and "ca-key" the CA's key.
func TestHostNamesThatCollideWithRoleFilesAreRefused(t *testing.T) {
	for _, h := range []string{"manager", "ca", "ca-key", "manager-key", "h1-key", ManagerName, "", "../h1", "h 1", "-h1", "h1\n"} {
		t.Run(h, func(t *testing.T) {
			dir := t.TempDir()
			err := InitCerts(dir, []string{"h1", h}, time.Hour, false)
			require.Error(t, err)
			require.Contains(t, err.Error(), "host ")
			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			require.Empty(t, entries, "nothing is written when a name is refused")
		})
	}
	require.ErrorContains(t, InitCerts(t.TempDir(), []string{"h1", "h1"}, time.Hour, false), `host "h1" is named twice`)
}

// An existing CA key is never overwritten without force, even when the CA
// certificate beside it is gone; with force, everything is issued anew.
func TestExistingKeysAreKeptUnlessForced(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, InitCerts(dir, []string{"h1"}, time.Hour, false))
	key, err := os.ReadFile(filepath.Join(dir, "ca-key.pem"))
	require.NoError(t, err)
	require.NoError(t, os.Remove(filepath.Join(dir, "ca.pem")))

	err = InitCerts(dir, []string{"h2"}, time.Hour, false)
	require.ErrorContains(t, err, "already holds ca-key.pem, manager-key.pem, manager.pem")
	after, err := os.ReadFile(filepath.Join(dir, "ca-key.pem"))
	require.NoError(t, err)
	require.Equal(t, key, after, "the CA key was not touched")

	require.NoError(t, InitCerts(dir, []string{"h1"}, time.Hour, true))
	after, err = os.ReadFile(filepath.Join(dir, "ca-key.pem"))
	require.NoError(t, err)
	require.False(t, bytes.Equal(key, after), "force issues a new CA")
	_, err = LoadPair(dir, "h1")
	require.NoError(t, err)
}

// A host added later is signed by the CA init made: its certificate
// verifies against the pool every peer already holds (ca.pem, read before
// the add), for the host's name and for both ends of a connection, with
// the same files and modes as init's; the CA's files are untouched.
func TestAddedHostVerifiesAgainstTheExistingCA(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, InitCerts(dir, []string{"h1", "h2"}, 24*time.Hour, false))
	pool, err := LoadPool(dir)
	require.NoError(t, err)
	caBefore := readFiles(t, dir, "ca.pem", "ca-key.pem", "manager.pem", "h1.pem")

	written, err := AddCerts(dir, []string{"h4", "h5"}, time.Hour, false)
	require.NoError(t, err)
	require.Equal(t, []string{filepath.Join(dir, "h4.pem"), filepath.Join(dir, "h4-key.pem"),
		filepath.Join(dir, "h5.pem"), filepath.Join(dir, "h5-key.pem")}, written)
	require.Equal(t, caBefore, readFiles(t, dir, "ca.pem", "ca-key.pem", "manager.pem", "h1.pem"), "add touches no other file")

	for _, h := range []string{"h4", "h5"} {
		pair, err := LoadPair(dir, h)
		require.NoError(t, err)
		leaf, err := x509.ParseCertificate(pair.Certificate[0])
		require.NoError(t, err)
		_, err = leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: h,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}})
		require.NoError(t, err, "%s verifies against the CA read before the add", h)
		require.Equal(t, h, leaf.Subject.CommonName)
		require.WithinDuration(t, time.Now().Add(time.Hour), leaf.NotAfter, time.Minute, "--validity is the certificate's")
		for name, mode := range map[string]os.FileMode{h + ".pem": 0o644, h + "-key.pem": 0o600} {
			fi, err := os.Stat(filepath.Join(dir, name))
			require.NoError(t, err)
			require.Equal(t, mode, fi.Mode().Perm(), name)
		}
	}
}

// An added host takes part in the cluster's mutual TLS: the manager, with
// the certificate init gave it, dials the new host's agent and both ends
// accept the other.
func TestAddedHostHandshakesWithTheManager(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, InitCerts(dir, []string{"h1"}, 24*time.Hour, false))
	_, err := AddCerts(dir, []string{"h4"}, 24*time.Hour, false)
	require.NoError(t, err)
	agent, err := AgentTLS(dir, "h4")
	require.NoError(t, err)
	mgr, err := ManagerTLS(dir, "h4")
	require.NoError(t, err)

	a, m := net.Pipe()
	defer a.Close()
	defer m.Close()
	server := tls.Server(a, agent)
	done := make(chan error, 1)
	go func() { done <- server.Handshake() }()
	client := tls.Client(m, mgr)
	require.NoError(t, client.Handshake(), "the manager accepts h4's certificate")
	require.NoError(t, <-done, "h4's agent accepts the manager's certificate")
	require.Equal(t, ManagerName, server.ConnectionState().PeerCertificates[0].DNSNames[0])
	require.Equal(t, "h4", client.ConnectionState().PeerCertificates[0].Subject.CommonName)
}

// Every refusal of add writes nothing: no CA, a CA key that is not the
// certificate's, a bad name, a host whose files are there (unless force,
// which replaces that host's pair and nothing else).
func TestAddRefusesAndWritesNothing(t *testing.T) {
	empty := t.TempDir()
	_, err := AddCerts(empty, []string{"h4"}, time.Hour, false)
	require.ErrorContains(t, err, "no ca.pem in "+empty)
	require.ErrorContains(t, err, "basalt certs init")
	requireFiles(t, empty)

	dir := t.TempDir()
	require.NoError(t, InitCerts(dir, []string{"h1"}, time.Hour, false))
	initFiles := []string{"ca-key.pem", "ca.pem", "h1-key.pem", "h1.pem", "manager-key.pem", "manager.pem"}
	for _, tc := range []struct {
		hosts []string
		want  string
	}{
		{[]string{"h1"}, "already holds h1-key.pem, h1.pem; nothing was written (--force replaces them"},
		{[]string{"h4", "h1"}, "already holds h1-key.pem, h1.pem"},
		{[]string{"h4", "manager"}, `host "manager": the name collides`},
		{[]string{"h4", "../h5"}, `host "../h5": a host name is`},
		{[]string{"h4", "h4"}, `host "h4" is named twice`},
		{nil, "at least one host"},
	} {
		_, err := AddCerts(dir, tc.hosts, time.Hour, false)
		require.ErrorContains(t, err, tc.want, "%v", tc.hosts)
		requireFiles(t, dir, initFiles...)
	}

	noKey := t.TempDir()
	require.NoError(t, InitCerts(noKey, []string{"h1"}, time.Hour, false))
	require.NoError(t, os.Remove(filepath.Join(noKey, "ca-key.pem")))
	_, err = AddCerts(noKey, []string{"h4"}, time.Hour, false)
	require.ErrorContains(t, err, "no ca-key.pem in "+noKey)
	requireFiles(t, noKey, initFiles[1:]...)

	other := t.TempDir()
	require.NoError(t, InitCerts(other, []string{"h1"}, time.Hour, false))
	key := readFiles(t, other, "ca-key.pem")[0]
	require.NoError(t, os.WriteFile(filepath.Join(dir, "ca-key.pem"), key, 0o600))
	_, err = AddCerts(dir, []string{"h4"}, time.Hour, false)
	require.ErrorContains(t, err, "ca-key.pem is not the key of "+filepath.Join(dir, "ca.pem"))
	requireFiles(t, dir, initFiles...)
}

// With force, add replaces the named host's pair (a lost or compromised
// key) under the same CA, and nothing else.
func TestAddForceReplacesOnlyTheHostsPair(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, InitCerts(dir, []string{"h1", "h2"}, time.Hour, false))
	before := readFiles(t, dir, "h1-key.pem", "h2-key.pem", "ca-key.pem")
	_, err := AddCerts(dir, []string{"h1"}, time.Hour, true)
	require.NoError(t, err)
	after := readFiles(t, dir, "h1-key.pem", "h2-key.pem", "ca-key.pem")
	require.NotEqual(t, before[0], after[0], "h1's key is new")
	require.Equal(t, before[1:], after[1:], "h2's and the CA's keys are kept")
	_, err = AgentTLS(dir, "h1")
	require.NoError(t, err)
}

// A host's certificate never outlives the CA: a longer --validity is cut
// to the CA's end, so that no certificate claims a life its signer lacks.
func TestAddCutsValidityToTheCAs(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, InitCerts(dir, []string{"h1"}, time.Hour, false))
	_, err := AddCerts(dir, []string{"h4"}, 24*time.Hour, false)
	require.NoError(t, err)
	ca, err := loadAuthority(dir)
	require.NoError(t, err)
	pair, err := LoadPair(dir, "h4")
	require.NoError(t, err)
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	require.NoError(t, err)
	require.Equal(t, ca.cert.NotAfter, leaf.NotAfter)
}

// readFiles returns the contents of dir's files, in the order named.
func readFiles(t *testing.T, dir string, names ...string) [][]byte {
	t.Helper()
	var out [][]byte
	for _, n := range names {
		data, err := os.ReadFile(filepath.Join(dir, n))
		require.NoError(t, err)
		out = append(out, data)
	}
	return out
}

// requireFiles fails unless dir holds exactly the files named (sorted).
func requireFiles(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	got := []string{}
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if names == nil {
		names = []string{}
	}
	require.Equal(t, names, got)
}
