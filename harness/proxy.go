package harness

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// Proxy is a fault-injecting TCP proxy for the process harness: it sits
// between the manager and one agent and can drop or delay the bytes of
// either direction, so that real processes see real partitions. Dropped
// bytes are discarded, not queued: a TLS stream that lost bytes breaks
// when the link heals, and the manager must redial, as after a real
// network fault.
type Proxy struct {
	l      net.Listener
	target string

	mu    sync.Mutex
	drop  [2]bool          // [to target, from target]
	delay [2]time.Duration // per direction
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

var _ Link = (*Proxy)(nil)

// Directions of a Proxy.
const (
	ToTarget   = 0 // manager → agent
	FromTarget = 1 // agent → manager
)

// NewProxy listens on a loopback port and forwards to target.
func NewProxy(target string) (*Proxy, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("proxy for %s: %w", target, err)
	}
	p := &Proxy{l: l, target: target, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr is where peers connect.
func (p *Proxy) Addr() string { return p.l.Addr().String() }

// Drop cuts one direction (or restores it).
func (p *Proxy) Drop(direction int, on bool) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.drop[direction] = on
	return nil
}

// Partition cuts both directions.
func (p *Proxy) Partition() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.drop = [2]bool{true, true}
	return nil
}

// Heal restores both directions and removes delays.
func (p *Proxy) Heal() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.drop = [2]bool{}
	p.delay = [2]time.Duration{}
	return nil
}

// Delay slows one direction by d per chunk.
func (p *Proxy) Delay(direction int, d time.Duration) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.delay[direction] = d
	return nil
}

// Redirect forwards new connections to target from now on and ends the
// current ones, so that the manager redials and reaches target: what sits
// at the host's address changes under the manager, as when an impostor
// takes over the host's address.
func (p *Proxy) Redirect(target string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.target = target
	for c := range p.conns {
		c.Close()
	}
}

// Target is where the proxy forwards to.
func (p *Proxy) Target() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.target
}

// Close stops the proxy and its connections.
func (p *Proxy) Close() error {
	err := p.l.Close()
	p.mu.Lock()
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
	return err
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		in, err := p.l.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		target := p.target
		p.mu.Unlock()
		out, err := net.DialTimeout("tcp", target, 5*time.Second)
		if err != nil {
			in.Close()
			continue
		}
		p.mu.Lock()
		p.conns[in], p.conns[out] = struct{}{}, struct{}{}
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pump(in, out, ToTarget)
		go p.pump(out, in, FromTarget)
	}
}

// pump copies src to dst one chunk at a time, applying the direction's
// faults to each chunk.
func (p *Proxy) pump(src, dst net.Conn, direction int) {
	defer p.wg.Done()
	defer func() {
		src.Close()
		dst.Close()
		p.mu.Lock()
		delete(p.conns, src)
		delete(p.conns, dst)
		p.mu.Unlock()
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			drop, delay := p.drop[direction], p.delay[direction]
			p.mu.Unlock()
			if delay > 0 {
				time.Sleep(delay)
			}
			if !drop {
				if _, werr := dst.Write(buf[:n]); werr != nil {
					return
				}
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				return
			}
			return
		}
	}
}
