package manager

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// A clone's instances are numbered by their host's place, "db:N"; the
// resource of any other group runs under its own ID.
func TestInstanceNames(t *testing.T) {
	mg := New(Config{Model: loadCluster(t, "promotable")})
	require.Equal(t, "db:0", mg.instanceName("db", "h1"))
	require.Equal(t, "db:2", mg.instanceName("db", "h3"))
	require.Equal(t, "", mg.instanceName("db", "nowhere"))

	pair := New(Config{Model: loadCluster(t, "pair")})
	require.Equal(t, "", pair.instanceName("fs", "h1"))
}
