package model

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

func TestZZSlow(t *testing.T) {
	files, _ := filepath.Glob(os.Getenv("ZZDIR") + "/*")
	for _, f := range files {
		b, _ := os.ReadFile(f)
		// corpus format: go test fuzz v1\n[]byte("...")
		var data []byte
		lines := string(b)
		i := len("go test fuzz v1\n[]byte(")
		s, err := strconv.Unquote(lines[i : len(lines)-2])
		if err != nil {
			t.Logf("%s: %v", f, err)
			continue
		}
		data = []byte(s)
		start := time.Now()
		Load("x", data)
		if el := time.Since(start); el > 50*time.Millisecond {
			t.Logf("%s: %d bytes, %v", f, len(data), el)
		}
	}
}
