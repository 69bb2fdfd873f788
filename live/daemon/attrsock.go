package daemon

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/basalt-ha/basalt/core/agent"
	"github.com/basalt-ha/basalt/core/proto"
	"github.com/basalt-ha/basalt/live/attrtools"
)

// The attribute socket: the agent daemon's end of live/attrtools, the
// crm_attribute, crm_master, attrd_updater and crm_node front ends the
// resource agents run. A unix socket of mode 0600 (only the daemon's user,
// who runs the agents, may set attributes), one request per connection, a
// JSON line each way; the request goes to the agent machine
// (core/agent's AttrRequest), whose answer (agent.AttrAnswer) comes back
// as an effect, at once for a query, once the manager has acknowledged for
// a change. Bounded: a line of attrtools.MaxLine, a connection's whole
// life by attrConnTimeout, the wait for the manager by attrAnswerTimeout,
// the connections served at once by maxAttrConns.

// Bounds of the attribute socket.
const (
	attrConnTimeout   = 30 * time.Second
	attrAnswerTimeout = 20 * time.Second
	maxAttrConns      = 64
)

// listenAttrs opens the attribute socket at path, replacing a stale one
// (a socket file an earlier life of the daemon left), never another file.
func listenAttrs(path string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("attribute socket: %w", err)
	}
	if st, err := os.Lstat(path); err == nil {
		if st.Mode().Type() != fs.ModeSocket {
			return nil, fmt.Errorf("attribute socket %s: a file that is not a socket is in the way", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("attribute socket: %w", err)
		}
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("attribute socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		return nil, fmt.Errorf("attribute socket: %w", err)
	}
	return l, nil
}

// acceptAttrs serves the attribute socket until it closes.
func (d *AgentDaemon) acceptAttrs(l net.Listener) {
	defer d.wg.Done()
	slots := make(chan struct{}, maxAttrConns)
	for {
		c, err := l.Accept()
		if err != nil {
			return // closed
		}
		select {
		case slots <- struct{}{}:
		default:
			d.log.Warn("attribute socket: too many tools at once; refusing one", "max", maxAttrConns)
			_ = writeAnswer(c, attrtools.Answer{Error: "basalt-agent is serving too many tools at once"})
			c.Close()
			continue
		}
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			defer func() { <-slots }()
			d.serveAttr(c)
		}()
	}
}

// serveAttr answers one tool.
func (d *AgentDaemon) serveAttr(c net.Conn) {
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(attrConnTimeout)); err != nil {
		return
	}
	var req attrtools.Request
	if err := attrtools.ReadLine(bufio.NewReader(c), &req); err != nil {
		_ = writeAnswer(c, attrtools.Answer{Error: "bad request: " + err.Error()})
		return
	}
	_ = writeAnswer(c, d.attrRequest(req))
}

func writeAnswer(c net.Conn, a attrtools.Answer) error {
	line, err := json.Marshal(a)
	if err != nil {
		return err
	}
	_, err = c.Write(append(line, '\n'))
	return err
}

// attrRequest hands a tool's request to the agent machine and waits,
// bounded, for its answer.
func (d *AgentDaemon) attrRequest(req attrtools.Request) attrtools.Answer {
	if req.Op == attrtools.OpName {
		return attrtools.Answer{Host: d.host}
	}
	ch := make(chan agent.AttrAnswer, 1)
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return attrtools.Answer{Error: "basalt-agent is stopping"}
	}
	d.lastAttr++
	id := d.lastAttr
	d.attrWait[id] = ch
	d.apply(d.a.AttrRequest(d.clk.Now(), agent.AttrRequest{ID: id, Op: agent.AttrOp(req.Op), Host: req.Host, Name: req.Name,
		Value: req.Value, Lifetime: proto.AttrLifetime(req.Lifetime), By: req.By}))
	d.mu.Unlock()
	var ans agent.AttrAnswer
	select {
	case ans = <-ch:
	case <-d.clk.After(attrAnswerTimeout):
		d.mu.Lock()
		delete(d.attrWait, id)
		d.mu.Unlock()
		return attrtools.Answer{Error: fmt.Sprintf("the manager did not answer within %s (the change is sent again when the agent reconnects)", attrAnswerTimeout)}
	case <-d.stop:
		return attrtools.Answer{Error: "basalt-agent is stopping"}
	}
	out := attrtools.Answer{Error: ans.Err, Queued: ans.Queued, Found: ans.Found, Value: ans.Value, Lifetime: string(ans.Lifetime), Host: ans.Host}
	for _, m := range ans.Members {
		out.Members = append(out.Members, attrtools.Member{Name: m.Name, Online: m.Online})
	}
	return out
}

// attrAnswered routes the machine's answer to the tool waiting for it (none
// when it gave up). Called with d.mu held.
func (d *AgentDaemon) attrAnswered(a agent.AttrAnswer) {
	if ch, ok := d.attrWait[a.ID]; ok {
		delete(d.attrWait, a.ID)
		ch <- a // buffered: never blocks
	}
}

// errNoAttrSocket is returned by AttrSocket when the daemon serves none.
var errNoAttrSocket = errors.New("no attribute socket")

// AttrSocket is the path of the attribute socket.
func (d *AgentDaemon) AttrSocket() (string, error) {
	if d.attrPath == "" {
		return "", errNoAttrSocket
	}
	return d.attrPath, nil
}
