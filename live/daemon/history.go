package daemon

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"

	"github.com/basalt-ha/basalt/core/history"
)

// ReadHistory parses an operation history file (basalt-agent serve
// --op-history): one history.Record per line, as the agent machine emitted
// them, in file order; history.Ops pairs them. A last line without its
// newline that does not parse is ignored: the agent may have been killed
// while writing it, or be writing it now. Any other bad line is an error.
func ReadHistory(path string) ([]history.Record, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("operation history: %w", err)
	}
	lines := bytes.Split(data, []byte("\n"))
	var out []history.Record
	for i, line := range lines {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var r history.Record
		if err := json.Unmarshal(line, &r); err != nil {
			if i == len(lines)-1 {
				break // torn last line
			}
			return nil, fmt.Errorf("operation history %s, line %d: %w", path, i+1, err)
		}
		out = append(out, r)
	}
	return out, nil
}
