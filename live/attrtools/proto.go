// Package attrtools is basalt-agent's front end for the Pacemaker tools
// resource agents call to read and set node attributes: crm_attribute,
// crm_master, attrd_updater and crm_node. basalt-agent links itself under
// those names in a directory it puts first on the agents' PATH (and names
// in HA_SBIN_DIR); run under one of them it parses the command line as the
// Pacemaker tool does (Parse), asks the local agent daemon over its unix
// socket (the socket's path in the agents' environment, SocketEnv), and
// prints the answer as the Pacemaker tool prints it, with its exit codes.
// What it does not support it says so and exits 3.
//
// The daemon's side of the socket is live/daemon's attrsock.go; what the
// answers mean is core/agent's attrs.go.
package attrtools

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"time"
)

// SocketEnv names the environment variable holding the agent daemon's
// socket, which the daemon sets for every resource agent it runs.
const SocketEnv = "BASALT_ATTRD_SOCKET"

// MaxLine bounds one request or answer on the socket.
const MaxLine = 64 << 10

// Request ops on the socket.
const (
	OpSet     = "set"
	OpDelete  = "delete"
	OpQuery   = "query"
	OpMembers = "members"
	// OpName asks the daemon's host name (crm_node -n).
	OpName = "name"
)

// Request is one tool's request, one JSON line on a connection of its own.
type Request struct {
	Op string `json:"op"`
	// Host is the host the attribute belongs to ("": the daemon's).
	Host  string `json:"host,omitempty"`
	Name  string `json:"name,omitempty"`
	Value string `json:"value,omitempty"`
	// Lifetime is "reboot" or "forever" ("" for a query: either).
	Lifetime string `json:"lifetime,omitempty"`
	// By names the tool and resource, for the manager's event log.
	By string `json:"by,omitempty"`
}

// Member is one host in a members answer.
type Member struct {
	Name   string `json:"name"`
	Online bool   `json:"online,omitempty"`
}

// Answer is the daemon's answer, one JSON line.
type Answer struct {
	// Error says why the request failed.
	Error string `json:"error,omitempty"`
	// Queued: no manager takes attributes now; the change waits for one.
	Queued   bool     `json:"queued,omitempty"`
	Found    bool     `json:"found,omitempty"`
	Value    string   `json:"value,omitempty"`
	Lifetime string   `json:"lifetime,omitempty"`
	Host     string   `json:"host,omitempty"`
	Members  []Member `json:"members,omitempty"`
}

// Ask sends req to the daemon at socket and returns its answer, waiting
// at most timeout in all.
func Ask(socket string, req Request, timeout time.Duration) (Answer, error) {
	c, err := net.DialTimeout("unix", socket, timeout)
	if err != nil {
		return Answer{}, fmt.Errorf("cannot reach basalt-agent: %w", err)
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(timeout)); err != nil {
		return Answer{}, fmt.Errorf("basalt-agent socket: %w", err)
	}
	line, err := json.Marshal(req)
	if err != nil {
		return Answer{}, fmt.Errorf("encode request: %w", err)
	}
	if _, err := c.Write(append(line, '\n')); err != nil {
		return Answer{}, fmt.Errorf("basalt-agent socket: %w", err)
	}
	var ans Answer
	if err := ReadLine(bufio.NewReader(c), &ans); err != nil {
		return Answer{}, fmt.Errorf("basalt-agent's answer: %w", err)
	}
	return ans, nil
}

// ReadLine reads one JSON line of at most MaxLine bytes into v.
func ReadLine(r *bufio.Reader, v any) error {
	var buf []byte
	for {
		chunk, isPrefix, err := r.ReadLine()
		if err != nil {
			return err
		}
		buf = append(buf, chunk...)
		if len(buf) > MaxLine {
			return fmt.Errorf("a line longer than %d bytes", MaxLine)
		}
		if !isPrefix {
			break
		}
	}
	if err := json.Unmarshal(buf, v); err != nil {
		return fmt.Errorf("decode: %w", err)
	}
	return nil
}
