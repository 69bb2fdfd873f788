package manager

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// A clone's instances are numbered by their host's place, "db:N"; the
// resource of any other group runs under its own ID, and so does a clone's
// instance on a host whose agent did not say it takes instance names (an
// older agent would refuse the command).
func TestInstanceNames(t *testing.T) {
	mg := New(Config{Model: loadCluster(t, "promotable")})
	require.Equal(t, "", mg.instanceName("db", "h1"), "no hello yet: nothing said it takes names")
	for _, h := range []string{"h1", "h3"} {
		mg.hosts[h].instances = true
	}
	require.Equal(t, "db:0", mg.instanceName("db", "h1"))
	require.Equal(t, "db:2", mg.instanceName("db", "h3"))
	require.Equal(t, "", mg.instanceName("db", "h2"), "an older agent is named no instance")
	require.Equal(t, "", mg.instanceName("db", "nowhere"))

	pair := New(Config{Model: loadCluster(t, "pair")})
	require.Equal(t, "", pair.instanceName("fs", "h1"))
}
