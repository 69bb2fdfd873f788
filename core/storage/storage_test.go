package storage_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/storage"
	"github.com/basalt-ha/basalt/core/storage/storagetest"
)

func TestMemConformance(t *testing.T) {
	storagetest.Run(t, func(*testing.T) storage.Store { return storage.NewMem() })
}

func TestValidName(t *testing.T) {
	for _, name := range []string{"a", "epoch", "event.log", "host-1_state", "A.B.C", "a..b", "0", strings.Repeat("x", 128)} {
		require.NoError(t, storage.ValidName(name), name)
	}
	for name, why := range map[string]string{
		"":                       "1 to 128 bytes",
		strings.Repeat("x", 129): "1 to 128 bytes",
		".":                      "start with '.'",
		"..":                     "start with '.'",
		".lock":                  "start with '.'",
		"a/b":                    "'/'",
		"a b":                    "' '",
		"é":                      "byte 0",
		"tab\t":                  "'\\t'",
	} {
		err := storage.ValidName(name)
		require.ErrorContains(t, err, why, "%q", name)
		require.ErrorContains(t, err, strconv.Quote(name), "the error names the name")
	}
}

func TestMemTearTailEmulatesATornAppend(t *testing.T) {
	m := storage.NewMem()
	require.NoError(t, m.Append("log", []byte("record1;")))
	require.NoError(t, m.Append("log", []byte("record2;")))
	m.TearTail("log", 3)
	b, err := m.Read("log")
	require.NoError(t, err)
	require.Equal(t, "record1;recor", string(b))

	// Recovery cuts the torn record and appends continue from there.
	require.NoError(t, m.Truncate("log", 8))
	require.NoError(t, m.Append("log", []byte("record3;")))
	b, err = m.Read("log")
	require.NoError(t, err)
	require.Equal(t, "record1;record3;", string(b))

	m.TearTail("log", 100)
	b, err = m.Read("log")
	require.NoError(t, err)
	require.Empty(t, b, "tearing more than there is leaves an empty log, not a missing one")

	m.TearTail("absent", 3)
	names, err := m.List()
	require.NoError(t, err)
	require.Equal(t, []string{"log"}, names, "tearing a missing name creates nothing")
}

// TestMemWriteIntoItsOldBufferChangesNothingRead: a rewrite that reuses
// the file's buffer leaves what was read (and a clone) as it was, and the
// file reads as written, appends and all.
func TestMemWriteIntoItsOldBufferChangesNothingRead(t *testing.T) {
	m := storage.NewMem()
	require.NoError(t, m.Write("r", []byte("base-one\n")))
	require.NoError(t, m.Append("r", []byte("change\n")))
	read, err := m.Read("r")
	require.NoError(t, err)
	backup := m.Clone()
	require.NoError(t, m.Write("r", []byte("two\n")))
	require.NoError(t, m.Append("r", []byte("more\n")))
	require.Equal(t, "base-one\nchange\n", string(read))
	got, err := backup.Read("r")
	require.NoError(t, err)
	require.Equal(t, "base-one\nchange\n", string(got))
	got, err = m.Read("r")
	require.NoError(t, err)
	require.Equal(t, "two\nmore\n", string(got))
	require.NoError(t, m.Write("r", nil))
	got, err = m.Read("r")
	require.NoError(t, err)
	require.NotNil(t, got, "an empty record still reads as one")
	require.Empty(t, got)
}
