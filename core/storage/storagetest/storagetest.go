// Package storagetest is a conformance suite that every storage.Store
// implementation passes, so that the simulator's Mem and the daemons'
// directory store behave alike.
package storagetest

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/storage"
)

// Run checks a Store implementation; open returns a new, empty store (and
// registers its own cleanup with t).
func Run(t *testing.T, open func(t *testing.T) storage.Store) {
	t.Run("ReadMissing", func(t *testing.T) {
		s := open(t)
		_, err := s.Read("nothing")
		require.ErrorIs(t, err, storage.ErrNotFound)
		require.ErrorContains(t, err, "nothing", "the error names what was missing")
	})

	t.Run("WriteReplacesWholeContent", func(t *testing.T) {
		s := open(t)
		require.NoError(t, s.Write("epoch", []byte("a longer first content")))
		require.NoError(t, s.Write("epoch", []byte("22")))
		expect(t, s, "epoch", "22")
	})

	t.Run("EmptyRecordIsNotMissing", func(t *testing.T) {
		s := open(t)
		require.NoError(t, s.Write("empty", nil))
		b, err := s.Read("empty")
		require.NoError(t, err)
		require.Empty(t, b)
		require.Equal(t, []string{"empty"}, list(t, s))
	})

	t.Run("NoAliasing", func(t *testing.T) {
		s := open(t)
		data := []byte("abc")
		require.NoError(t, s.Write("r", data))
		data[0] = 'X'
		expect(t, s, "r", "abc")
		b, err := s.Read("r")
		require.NoError(t, err)
		b[1] = 'Y'
		expect(t, s, "r", "abc")
		more := []byte("def")
		require.NoError(t, s.Append("r", more))
		more[0] = 'Z'
		expect(t, s, "r", "abcdef")
	})

	t.Run("AppendCreatesAndExtends", func(t *testing.T) {
		s := open(t)
		require.NoError(t, s.Append("log", []byte("abc")))
		require.NoError(t, s.Append("log", []byte("def")))
		expect(t, s, "log", "abcdef")
		require.NoError(t, s.Append("empty.log", nil))
		expect(t, s, "empty.log", "")
		require.NoError(t, s.Write("rec", []byte("12")))
		require.NoError(t, s.Append("rec", []byte("34")))
		expect(t, s, "rec", "1234")
	})

	t.Run("TruncateRecoversATornTail", func(t *testing.T) {
		s := open(t)
		require.NoError(t, s.Append("log", []byte("rec1;")))
		require.NoError(t, s.Append("log", []byte("rec2;")))
		require.NoError(t, s.Append("log", []byte("re"))) // torn
		require.NoError(t, s.Truncate("log", 10))
		expect(t, s, "log", "rec1;rec2;")
		require.NoError(t, s.Append("log", []byte("rec3;")))
		expect(t, s, "log", "rec1;rec2;rec3;")
		require.NoError(t, s.Truncate("log", 15), "to the current length is a no-op")
		expect(t, s, "log", "rec1;rec2;rec3;")
		require.NoError(t, s.Truncate("log", 0))
		expect(t, s, "log", "")
	})

	t.Run("TruncateRefusesBadSizes", func(t *testing.T) {
		s := open(t)
		require.NoError(t, s.Append("log", []byte("abc")))
		require.Error(t, s.Truncate("log", 4), "past the end")
		require.Error(t, s.Truncate("log", -1))
		expect(t, s, "log", "abc")
		require.ErrorIs(t, s.Truncate("missing", 0), storage.ErrNotFound)
		require.NotContains(t, list(t, s), "missing", "a failed truncate creates nothing")
	})

	t.Run("Remove", func(t *testing.T) {
		s := open(t)
		require.NoError(t, s.Write("a", []byte("x")))
		require.NoError(t, s.Write("b", []byte("y")))
		require.NoError(t, s.Remove("a"))
		_, err := s.Read("a")
		require.ErrorIs(t, err, storage.ErrNotFound)
		require.NoError(t, s.Remove("a"), "removing twice is fine")
		require.NoError(t, s.Remove("never"), "removing what never was is fine")
		expect(t, s, "b", "y")
		require.Equal(t, []string{"b"}, list(t, s))
	})

	t.Run("ListIsSorted", func(t *testing.T) {
		s := open(t)
		require.Empty(t, list(t, s))
		for _, name := range []string{"b", "a.log", "_x", "A", "1", "a-2"} {
			require.NoError(t, s.Append(name, []byte(name)))
		}
		require.Equal(t, []string{"1", "A", "_x", "a-2", "a.log", "b"}, list(t, s))
	})

	t.Run("NameLimits", func(t *testing.T) {
		s := open(t)
		long := strings.Repeat("n", 128)
		require.NoError(t, s.Write(long, []byte("ok")))
		expect(t, s, long, "ok")
		require.NoError(t, s.Write("a..b", []byte("ok")), "dots inside a name are fine")
		bad := []string{"", ".", "..", "../x", "a/b", "/abs", ".hidden", "a b", "é", "a\x00b", long + "n"}
		for _, name := range bad {
			for _, c := range []struct {
				op  string
				err error
			}{
				{"write", s.Write(name, []byte("x"))},
				{"append", s.Append(name, []byte("x"))},
				{"truncate", s.Truncate(name, 0)},
				{"remove", s.Remove(name)},
			} {
				require.Error(t, c.err, "%s %q", c.op, name)
				require.NotErrorIs(t, c.err, storage.ErrNotFound, "%s %q: a bad name is not a missing one", c.op, name)
			}
			_, err := s.Read(name)
			require.Error(t, err, "read %q", name)
			require.NotErrorIs(t, err, storage.ErrNotFound, "read %q", name)
		}
		require.Equal(t, []string{"a..b", long}, list(t, s), "no bad name was stored")
	})
}

func expect(t *testing.T, s storage.Store, name, want string) {
	t.Helper()
	b, err := s.Read(name)
	require.NoError(t, err)
	require.Equal(t, want, string(b), "content of %s", name)
}

func list(t *testing.T, s storage.Store) []string {
	t.Helper()
	names, err := s.List()
	require.NoError(t, err)
	return names
}
