package harness

import (
	"bufio"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/basalt-ha/basalt/harness/check"
)

// ManagerLogs reads every manager's log in Dir (each manager process's,
// a replacement's and, with replicas, each replica's) for the timeline's
// host lanes: the records of hosts lost and of fencing. Each record keeps
// the name of its log. A log that cannot be read gives nothing: the
// timeline is an aid to the reader, not a verdict.
func (pc *ProcessCluster) ManagerLogs() []check.ManagerLog {
	files, _ := filepath.Glob(filepath.Join(pc.Dir, "manager*.log"))
	sort.Strings(files)
	var out []check.ManagerLog
	for _, f := range files {
		out = append(out, readManagerLog(f)...)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out
}

// managerLogMessages are the messages check.ManagerLogLane reads: the
// others are skipped while reading, so that a long run's log is not held.
var managerLogMessages = map[string]bool{"host lost": true, "fencing requested": true, "fencing failed": true}

func readManagerLog(path string) []check.ManagerLog {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	source := strings.TrimSuffix(filepath.Base(path), ".log")
	var out []check.ManagerLog
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		attrs, ok := parseLogLine(sc.Text())
		if !ok || !managerLogMessages[attrs["msg"]] {
			continue
		}
		at, err := time.Parse(time.RFC3339Nano, attrs["time"])
		if err != nil {
			continue
		}
		out = append(out, check.ManagerLog{At: at, Source: source, Msg: attrs["msg"], Attrs: attrs})
	}
	return out
}

// parseLogLine reads a line of log/slog's text handler (what the manager
// writes by default): key=value pairs separated by spaces, a value quoted
// (Go syntax) when it has spaces or quotes. false: not such a line (a
// panic's stack, a line of another program).
func parseLogLine(line string) (map[string]string, bool) {
	attrs := map[string]string{}
	for line = strings.TrimSpace(line); line != ""; line = strings.TrimLeft(line, " ") {
		eq := strings.IndexByte(line, '=')
		if eq <= 0 || strings.ContainsAny(line[:eq], " \"") {
			return nil, false
		}
		key, rest := line[:eq], line[eq+1:]
		var val string
		if strings.HasPrefix(rest, `"`) {
			q, err := strconv.QuotedPrefix(rest)
			if err != nil {
				return nil, false
			}
			if val, err = strconv.Unquote(q); err != nil {
				return nil, false
			}
			rest = rest[len(q):]
		} else {
			end := strings.IndexByte(rest, ' ')
			if end < 0 {
				end = len(rest)
			}
			val, rest = rest[:end], rest[end:]
		}
		attrs[key] = val
		line = rest
	}
	_, hasTime := attrs["time"]
	_, hasMsg := attrs["msg"]
	return attrs, hasTime && hasMsg
}
