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
