package manager

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/model"
	"github.com/basalt-ha/basalt/core/storage"
)

// loadCluster loads testdata/clusters/<name>.yaml.
func loadCluster(t *testing.T, name string) *model.Model {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "clusters", name+".yaml"))
	require.NoError(t, err)
	m, err := model.Load(name+".yaml", data)
	require.NoError(t, err)
	return m
}

// persist carries out a manager's Persist effects on st, in order, as the
// drivers do (Append: Store.Append, otherwise the atomic Store.Write).
func persist(t *testing.T, st storage.Store, effs []effect.Effect) {
	t.Helper()
	for _, e := range effs {
		p, ok := e.(*effect.Persist)
		if !ok {
			continue
		}
		if p.Append {
			require.NoError(t, st.Append(p.Name, p.Data))
		} else {
			require.NoError(t, st.Write(p.Name, p.Data))
		}
	}
}
