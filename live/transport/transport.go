// Package transport carries manager↔agent messages over TCP with mutual
// TLS, and makes and loads the cluster's certificates.
package transport

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/wire"
)

// writeTimeout bounds one send: a peer that stops reading must not block
// the sender's event loop.
const writeTimeout = 10 * time.Second

// Conn carries wire messages over one TLS connection, one JSON line each.
type Conn struct {
	c  net.Conn
	mu sync.Mutex
	r  *bufio.Reader
}

// NewConn wraps an established (authenticated) connection in the framing
// of manager↔agent messages.
func NewConn(c net.Conn) *Conn {
	return &Conn{c: c, r: bufio.NewReaderSize(c, 64<<10)}
}

// Send writes one message. Safe for concurrent use.
func (c *Conn) Send(msg effect.Message) error {
	line, err := wire.Encode(msg)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.c.SetWriteDeadline(time.Now().Add(writeTimeout)); err != nil {
		return fmt.Errorf("send to %s: %w", c.c.RemoteAddr(), err)
	}
	if _, err := c.c.Write(line); err != nil {
		return fmt.Errorf("send to %s: %w", c.c.RemoteAddr(), err)
	}
	return nil
}

// Recv reads one message; lines longer than wire.MaxLine end the
// connection with an error.
func (c *Conn) Recv() (effect.Message, error) {
	var line []byte
	for {
		chunk, isPrefix, err := c.r.ReadLine()
		if err != nil {
			return nil, err
		}
		line = append(line, chunk...)
		if len(line) > wire.MaxLine {
			return nil, fmt.Errorf("receive from %s: message longer than %d bytes", c.c.RemoteAddr(), wire.MaxLine)
		}
		if !isPrefix {
			break
		}
	}
	msg, err := wire.Decode(line)
	if err != nil {
		return nil, fmt.Errorf("receive from %s: %w", c.c.RemoteAddr(), err)
	}
	return msg, nil
}

// Close ends the connection.
func (c *Conn) Close() error { return c.c.Close() }

// RemoteAddr is the peer's address.
func (c *Conn) RemoteAddr() string { return c.c.RemoteAddr().String() }

// Dial connects to an agent with mutual TLS, completing the handshake so
// that a certificate problem is reported here, with its reason.
func Dial(ctx context.Context, addr string, cfg *tls.Config) (*Conn, error) {
	d := tls.Dialer{Config: cfg}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", addr, err)
	}
	return NewConn(c), nil
}

// Handshake bounds: a peer gets handshakeTimeout to prove who it is, and at
// most maxHalfOpen peers may be proving it at once. Handshakes run
// concurrently, so one idle or slow peer (a port scanner, a manager frozen
// mid-connect) cannot hold up the manager that comes next; before, a single
// idle connection during a manager restart stalled the accept loop for 10 s
// and got a healthy host fenced.
const (
	handshakeTimeout = 3 * time.Second
	maxHalfOpen      = 16
)

// Listener accepts manager connections with mutual TLS.
type Listener struct {
	l        net.Listener
	cfg      *tls.Config
	out      chan accepted
	halfOpen chan struct{} // a slot per handshake under way
	done     chan struct{}
	once     sync.Once
}

// accepted is one finished handshake: a connection or why it was refused.
type accepted struct {
	c   *Conn
	err error
}

// Listen opens a TLS listener on addr.
func Listen(addr string, cfg *tls.Config) (*Listener, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	ln := &Listener{l: l, cfg: cfg, out: make(chan accepted), halfOpen: make(chan struct{}, maxHalfOpen), done: make(chan struct{})}
	go ln.acceptLoop()
	return ln, nil
}

// Addr is the listening address.
func (l *Listener) Addr() string { return l.l.Addr().String() }

// Close stops listening; connections not yet handed out by Accept are
// closed.
func (l *Listener) Close() error {
	l.once.Do(func() { close(l.done) })
	return l.l.Close()
}

// ErrRefused wraps a peer refused during the TLS handshake.
var ErrRefused = errors.New("peer refused")

// Accept waits for a connection whose handshake is complete. A peer that
// fails authentication (or does not finish in time, or finds every
// handshake slot taken) yields an error wrapping ErrRefused and naming the
// peer and the reason; the listener goes on. After Close it returns
// net.ErrClosed.
func (l *Listener) Accept() (*Conn, error) {
	select {
	case a := <-l.out:
		return a.c, a.err
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// acceptLoop takes raw connections and starts a handshake for each, until
// the listener is closed.
func (l *Listener) acceptLoop() {
	for {
		c, err := l.l.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// A transient error (too many open files): keep serving, but
			// do not spin.
			select {
			case <-l.done:
				return
			case <-time.After(50 * time.Millisecond):
			}
			continue
		}
		select {
		case l.halfOpen <- struct{}{}:
			go l.handshake(c)
		default:
			c.Close()
			l.deliver(accepted{err: fmt.Errorf("%w: %s: %d handshakes already under way", ErrRefused, c.RemoteAddr(), maxHalfOpen)})
		}
	}
}

// handshake authenticates one peer and hands the result to Accept.
func (l *Listener) handshake(c net.Conn) {
	defer func() { <-l.halfOpen }()
	tc := tls.Server(c, l.cfg)
	ctx, cancel := context.WithTimeout(context.Background(), handshakeTimeout)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		c.Close()
		l.deliver(accepted{err: fmt.Errorf("%w: %s: %v", ErrRefused, c.RemoteAddr(), err)})
		return
	}
	if !l.deliver(accepted{c: NewConn(tc)}) {
		tc.Close()
	}
}

// deliver waits for Accept to take a; it reports false when the listener
// closed first.
func (l *Listener) deliver(a accepted) bool {
	select {
	case l.out <- a:
		return true
	case <-l.done:
		return false
	}
}
