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

// Listener accepts manager connections with mutual TLS.
type Listener struct {
	l   net.Listener
	cfg *tls.Config
}

// Listen opens a TLS listener on addr.
func Listen(addr string, cfg *tls.Config) (*Listener, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	return &Listener{l: l, cfg: cfg}, nil
}

// Addr is the listening address.
func (l *Listener) Addr() string { return l.l.Addr().String() }

// Close stops listening.
func (l *Listener) Close() error { return l.l.Close() }

// ErrRefused wraps a peer refused during the TLS handshake.
var ErrRefused = errors.New("peer refused")

// Accept waits for a connection and completes its handshake. A peer that
// fails authentication yields an error wrapping ErrRefused and naming the
// peer and the reason; the listener goes on.
func (l *Listener) Accept() (*Conn, error) {
	c, err := l.l.Accept()
	if err != nil {
		return nil, err
	}
	tc := tls.Server(c, l.cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		c.Close()
		return nil, fmt.Errorf("%w: %s: %v", ErrRefused, c.RemoteAddr(), err)
	}
	return NewConn(tc), nil
}
