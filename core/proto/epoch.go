package proto

import (
	"fmt"
	"strconv"
	"strings"
)

// EncodeEpoch renders an epoch as its durable record (decimal text), the
// one encoding the manager's and the agents' epoch records share.
func EncodeEpoch(e Epoch) []byte { return []byte(strconv.FormatUint(uint64(e), 10)) }

// DecodeEpoch parses an epoch record written by EncodeEpoch. Surrounding
// white space is allowed (a record edited by hand ends with a newline).
func DecodeEpoch(data []byte) (Epoch, error) {
	n, err := strconv.ParseUint(strings.TrimSpace(string(data)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("epoch record %q: %w", data, err)
	}
	return Epoch(n), nil
}

// The epoch rule: epochs are bounded, so that no single value can leave
// the cluster without a manager for ever.
//
// A legitimate epoch comes from one of two places: a standalone manager's
// persisted epoch plus one (a restart count), or, with manager HA, the
// create revision of the election key in etcd (an int64 that only grows,
// by as many as the writes in between). Neither comes anywhere near
// MaxEpoch, a hard ceiling far above any restart count or etcd revision:
// a value beyond it can only be garbage or an attack, and an agent that
// stored it would refuse every later manager. So:
//
//   - an agent refuses, without storing it, any epoch above MaxEpoch, and
//     any epoch more than its configured jump bound (DefaultMaxEpochJump
//     unless configured) above the one it has stored, saying which rule;
//   - a manager refuses to start when its persisted epoch plus one would
//     pass MaxEpoch, and never wraps;
//   - epochs that broke the rule before it existed are repaired by the
//     documented recovery commands (basalt-agent epoch --reset,
//     basalt-manager epoch --set), never by editing files.
const MaxEpoch Epoch = 1 << 62

// DefaultMaxEpochJump is how far above its stored epoch an agent accepts a
// new one unless configured otherwise: 2^40, about 10^12. A standalone
// manager moves by one per restart; an etcd election key's create
// revision moves by every write to etcd between two elections, and at ten
// thousand writes a second 2^40 is three years of them. Under MaxEpoch it
// still leaves room for four million such jumps.
const DefaultMaxEpochJump Epoch = 1 << 40

// CheckEpoch applies the agent's side of the epoch rule: it returns nil
// when a command's epoch may be accepted by an agent that has stored
// stored, with the given jump bound (0: DefaultMaxEpochJump), and
// otherwise an error saying which bound the epoch passes. Epochs at or
// below stored are not its concern (the stale-epoch guard refuses them).
func CheckEpoch(epoch, stored, maxJump Epoch) error {
	if maxJump == 0 {
		maxJump = DefaultMaxEpochJump
	}
	if epoch > MaxEpoch {
		return fmt.Errorf("epoch %d is above the ceiling %d (2^62): no election or restart count reaches it; refused and not stored", epoch, MaxEpoch)
	}
	if epoch > stored && epoch-stored > maxJump {
		return fmt.Errorf("epoch %d jumps %d above the stored epoch %d, more than the bound %d: refused and not stored (raise the agent's max epoch jump if elections really move so far)",
			epoch, epoch-stored, stored, maxJump)
	}
	return nil
}
