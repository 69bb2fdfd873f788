package lrm

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/basalt-ha/basalt/core/ocf"
)

// TestNoSuchRecurringIsFmtsText: Cancel's error built without fmt reads
// as the fmt.Errorf it replaced, for short names and names past its
// buffer.
func TestNoSuchRecurringIsFmtsText(t *testing.T) {
	for _, id := range []string{"r", "vip-1", strings.Repeat("x", 200)} {
		key := OpKey{Action: ocf.Monitor, Interval: 10 * time.Second}
		want := fmt.Errorf("cancel %s on %s (%s): no such recurring operation", key, id, id+" name")
		require.Equal(t, want.Error(), noSuchRecurring(key, id, id+" name").Error())
	}
}
