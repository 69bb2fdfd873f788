// Package storagetest is a conformance suite every storage.Store
// implementation passes, so that the simulator's Mem and the daemons'
// directory store behave alike.
package storagetest

import (
	"errors"
	"testing"

	"github.com/basalt-ha/basalt/core/storage"
)

// Run checks a Store; open returns a new, empty store.
func Run(t *testing.T, open func(t *testing.T) storage.Store) {
	t.Run("ReadMissing", func(t *testing.T) {
		s := open(t)
		if _, err := s.Read("nothing"); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("read of a missing name: want ErrNotFound, got %v", err)
		}
	})
	t.Run("WriteReplaces", func(t *testing.T) {
		s := open(t)
		must(t, s.Write("epoch", []byte("1")))
		must(t, s.Write("epoch", []byte("22")))
		expect(t, s, "epoch", "22")
	})
	t.Run("AppendAndTruncate", func(t *testing.T) {
		s := open(t)
		must(t, s.Append("log", []byte("abc")))
		must(t, s.Append("log", []byte("def")))
		expect(t, s, "log", "abcdef")
		must(t, s.Truncate("log", 4))
		expect(t, s, "log", "abcd")
		if err := s.Truncate("log", 99); err == nil {
			t.Fatal("truncate past the end: want an error")
		}
		if err := s.Truncate("missing", 0); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("truncate of a missing name: want ErrNotFound, got %v", err)
		}
	})
	t.Run("RemoveAndList", func(t *testing.T) {
		s := open(t)
		must(t, s.Write("b", []byte("x")))
		must(t, s.Write("a", []byte("y")))
		must(t, s.Append("c.log", []byte("z")))
		names, err := s.List()
		must(t, err)
		if got := join(names); got != "a,b,c.log" {
			t.Fatalf("list: got %s", got)
		}
		must(t, s.Remove("b"))
		must(t, s.Remove("b")) // twice is fine
		names, err = s.List()
		must(t, err)
		if got := join(names); got != "a,c.log" {
			t.Fatalf("list after remove: got %s", got)
		}
	})
	t.Run("BadNames", func(t *testing.T) {
		s := open(t)
		for _, name := range []string{"", ".", "..", "../x", "a/b", ".hidden", "a b"} {
			if err := s.Write(name, []byte("x")); err == nil {
				t.Fatalf("write %q: want an error", name)
			}
			if _, err := s.Read(name); err == nil || errors.Is(err, storage.ErrNotFound) {
				t.Fatalf("read %q: want a name error, got %v", name, err)
			}
		}
	})
	t.Run("ReadReturnsACopy", func(t *testing.T) {
		s := open(t)
		must(t, s.Write("r", []byte("abc")))
		b, err := s.Read("r")
		must(t, err)
		b[0] = 'X'
		expect(t, s, "r", "abc")
	})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func expect(t *testing.T, s storage.Store, name, want string) {
	t.Helper()
	b, err := s.Read(name)
	must(t, err)
	if string(b) != want {
		t.Fatalf("%s holds %q, want %q", name, b, want)
	}
}

func join(names []string) string {
	out := ""
	for i, n := range names {
		if i > 0 {
			out += ","
		}
		out += n
	}
	return out
}
