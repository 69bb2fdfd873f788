package storage_test

import (
	"testing"

	"github.com/basalt-ha/basalt/core/storage"
	"github.com/basalt-ha/basalt/core/storage/storagetest"
)

func TestMem(t *testing.T) {
	storagetest.Run(t, func(*testing.T) storage.Store { return storage.NewMem() })
}

func TestMemTearTail(t *testing.T) {
	m := storage.NewMem()
	if err := m.Append("log", []byte("record1record2")); err != nil {
		t.Fatal(err)
	}
	m.TearTail("log", 3)
	b, _ := m.Read("log")
	if string(b) != "record1reco" {
		t.Fatalf("after tearing 3 bytes: %q", b)
	}
}
