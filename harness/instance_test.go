package harness

import "testing"

// The statefile agent names a clone instance's file after "id:N": the
// truth counts it as the resource id.
func TestStateFileInstances(t *testing.T) {
	for in, want := range map[string]string{"db": "db", "db:0": "db", "db:12": "db", "a:b": "a:b", "db:": "db:"} {
		if got := resourceOf(in); got != want {
			t.Errorf("resourceOf(%q) = %q, want %q", in, got, want)
		}
	}
}
