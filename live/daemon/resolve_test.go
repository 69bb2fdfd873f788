package daemon

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// agentTree builds an OCF-like root with an executable agent in it and
// returns the root and the agent's real path.
func agentTree(t *testing.T) (root, agent string) {
	t.Helper()
	root = t.TempDir()
	dir := filepath.Join(root, "resource.d", "test")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	agent = filepath.Join(dir, "agent")
	require.NoError(t, os.WriteFile(agent, []byte("#!/bin/sh\nexit 0\n"), 0o755))
	real, err := filepath.EvalSymlinks(agent)
	require.NoError(t, err)
	return root, real
}

func TestResolveUnderAcceptsAnExecutableFile(t *testing.T) {
	root, agent := agentTree(t)
	got, err := ResolveUnder(root, filepath.Join(root, "resource.d", "test", "agent"))
	require.NoError(t, err)
	require.Equal(t, agent, got)
}

func TestResolveUnderFollowsLinksInsideTheRoot(t *testing.T) {
	root, agent := agentTree(t)
	// Relative and absolute links, as packages install them.
	rel := filepath.Join(root, "resource.d", "test", "alias")
	require.NoError(t, os.Symlink("agent", rel))
	provider := filepath.Join(root, "resource.d", "vendor")
	require.NoError(t, os.Symlink(filepath.Join(root, "resource.d", "test"), provider))

	got, err := ResolveUnder(root, rel)
	require.NoError(t, err)
	require.Equal(t, agent, got, "the real path is returned")
	got, err = ResolveUnder(root, filepath.Join(provider, "agent"))
	require.NoError(t, err)
	require.Equal(t, agent, got)
}

func TestResolveUnderAcceptsARootReachedThroughALink(t *testing.T) {
	root, agent := agentTree(t)
	linkedRoot := filepath.Join(t.TempDir(), "ocf")
	require.NoError(t, os.Symlink(root, linkedRoot))
	got, err := ResolveUnder(linkedRoot, filepath.Join(linkedRoot, "resource.d", "test", "agent"))
	require.NoError(t, err)
	require.Equal(t, agent, got)
}

func TestResolveUnderRefusesEscapes(t *testing.T) {
	root, _ := agentTree(t)
	outside := filepath.Join(t.TempDir(), "evil")
	require.NoError(t, os.WriteFile(outside, []byte("#!/bin/sh\n"), 0o755))
	abs := filepath.Join(root, "resource.d", "test", "abs")
	require.NoError(t, os.Symlink(outside, abs))
	rel := filepath.Join(root, "resource.d", "test", "rel")
	target, err := filepath.Rel(filepath.Dir(rel), outside)
	require.NoError(t, err)
	require.NoError(t, os.Symlink(target, rel))
	// A sibling whose name merely starts with the root's name.
	sibling := root + "-sibling"
	require.NoError(t, os.WriteFile(sibling, []byte("#!/bin/sh\n"), 0o755))
	t.Cleanup(func() { os.Remove(sibling) })
	prefix := filepath.Join(root, "resource.d", "test", "prefix")
	require.NoError(t, os.Symlink(sibling, prefix))

	for _, path := range []string{abs, rel, prefix, filepath.Join(root, "..", filepath.Base(sibling))} {
		_, err := ResolveUnder(root, path)
		require.ErrorContains(t, err, "outside", path)
		require.ErrorContains(t, err, path, "the error names the path")
	}
}

func TestResolveUnderRefusesWhatCannotRun(t *testing.T) {
	root, _ := agentTree(t)
	dir := filepath.Join(root, "resource.d", "test")
	plain := filepath.Join(dir, "plain")
	require.NoError(t, os.WriteFile(plain, []byte("#!/bin/sh\n"), 0o644))
	require.NoError(t, os.Symlink("plain", filepath.Join(dir, "to-plain")))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "sub"), 0o755))
	require.NoError(t, os.Symlink("nowhere", filepath.Join(dir, "dangling")))

	for name, reason := range map[string]string{
		"plain":    "not executable",
		"to-plain": "not executable",
		"sub":      "is a directory",
		"missing":  "does not exist",
		"dangling": "does not exist",
	} {
		path := filepath.Join(dir, name)
		_, err := ResolveUnder(root, path)
		require.ErrorContains(t, err, reason, name)
		require.ErrorContains(t, err, path, "the error names the path")
	}
	_, err := ResolveUnder(root, root)
	require.ErrorContains(t, err, "is a directory", "the root itself is no agent")
	_, err = ResolveUnder(filepath.Join(root, "absent"), filepath.Join(dir, "agent"))
	require.ErrorContains(t, err, "root", "a missing root is reported as such")
}
