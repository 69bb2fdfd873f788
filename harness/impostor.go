package harness

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/proto"
	"github.com/basalt-ha/basalt/live/certs"
	"github.com/basalt-ha/basalt/live/transport"
	"github.com/basalt-ha/basalt/sim/faults"
)

// impostorBeat is how often an impostor forges.
const impostorBeat = 200 * time.Millisecond

// Impostor is a compromised host: a process holding the host's certificate
// that sits where the manager dials the host. It relays between the manager
// and the host's real agent (so the host keeps working and nothing is
// fenced for being cut off) and slips in forged messages: heartbeats and
// hellos in another host's name, carrying a manager epoch above the
// current one, and once per connection that newer epoch in its own host's
// name. The manager must refuse the forgeries (a message must name the host
// the TLS handshake proved) and not stand down on one host's word (only a
// majority deposes it).
type Impostor struct {
	l      *transport.Listener
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	forged int
}

// StartImpostor listens on a loopback port with host's agent certificate
// from certDir and relays each manager connection to agentAddr, forging in
// victim's name.
func StartImpostor(certDir, host, victim, agentAddr string) (*Impostor, error) {
	atls, err := certs.AgentTLS(certDir, host)
	if err != nil {
		return nil, fmt.Errorf("impostor of %s: %w", host, err)
	}
	mtls, err := certs.ManagerTLS(certDir, host)
	if err != nil {
		return nil, fmt.Errorf("impostor of %s: %w", host, err)
	}
	l, err := transport.Listen("127.0.0.1:0", atls)
	if err != nil {
		return nil, fmt.Errorf("impostor of %s: %w", host, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	im := &Impostor{l: l, cancel: cancel}
	im.wg.Add(1)
	go func() {
		defer im.wg.Done()
		for {
			mc, err := l.Accept()
			if err != nil {
				return
			}
			ac, err := transport.Dial(ctx, agentAddr, mtls)
			if err != nil {
				mc.Close()
				continue
			}
			im.wg.Add(1)
			go im.relay(ctx, mc, ac, host, victim)
		}
	}()
	return im, nil
}

// Addr is where the impostor listens.
func (im *Impostor) Addr() string { return im.l.Addr() }

// Forged is how many forged messages the impostor has sent.
func (im *Impostor) Forged() int {
	im.mu.Lock()
	defer im.mu.Unlock()
	return im.forged
}

// Close ends the impostor and its connections.
func (im *Impostor) Close() {
	im.cancel()
	im.l.Close()
	im.wg.Wait()
}

// relay carries one manager connection mc to the agent connection ac both
// ways, forging into mc every beat until either side ends.
func (im *Impostor) relay(ctx context.Context, mc, ac *transport.Conn, host, victim string) {
	defer im.wg.Done()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { <-ctx.Done(); mc.Close(); ac.Close() }()
	var sendMu sync.Mutex
	var epoch proto.Epoch // the highest the agent has shown
	toManager := func(msg effect.Message) error {
		sendMu.Lock()
		defer sendMu.Unlock()
		return mc.Send(msg)
	}
	go func() { // manager → agent
		defer cancel()
		for {
			msg, err := mc.Recv()
			if err != nil || ac.Send(msg) != nil {
				return
			}
		}
	}()
	go func() { // agent → manager, noting its epoch
		defer cancel()
		for {
			msg, err := ac.Recv()
			if err != nil {
				return
			}
			sendMu.Lock()
			switch m := msg.(type) {
			case proto.Hello:
				epoch = max(epoch, m.Epoch)
			case proto.Heartbeat:
				epoch = max(epoch, m.Epoch)
			}
			sendMu.Unlock()
			if toManager(msg) != nil {
				return
			}
		}
	}()
	im.forge(ctx, toManager, &sendMu, &epoch, host, victim)
}

// forge sends the forged messages every beat until ctx ends.
func (im *Impostor) forge(ctx context.Context, send func(effect.Message) error, mu *sync.Mutex, epoch *proto.Epoch, host, victim string) {
	t := time.NewTicker(impostorBeat)
	defer t.Stop()
	for n := uint64(1); ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		mu.Lock()
		newer := *epoch + 1
		mu.Unlock()
		msgs := []effect.Message{proto.Heartbeat{Host: victim, Epoch: newer, Seq: 1 << 40 * n},
			proto.Hello{Host: victim, Epoch: newer}}
		if n == 3 {
			// One host's word for a newer manager: a minority, which
			// must not depose the manager.
			msgs = append(msgs, proto.Heartbeat{Host: host, Epoch: newer, Seq: 1 << 41 * n})
		}
		for _, m := range msgs {
			if send(m) != nil {
				return
			}
			im.mu.Lock()
			im.forged++
			im.mu.Unlock()
		}
	}
}

// StartImpostor puts an impostor of host, speaking for victim as well, where
// the manager reaches host: host's proxy now forwards to it, and it relays
// to host's agent. It needs the proxy network.
func (pc *ProcessCluster) StartImpostor(host, victim string) error {
	px, ok := pc.Links[host].(*Proxy)
	if !ok {
		return faults.Unsupported("an impostor of %s on network %q: it takes the host's place through the proxy (%q)", host, pc.opts.Network, NetProxy)
	}
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if pc.impostors[host] != nil {
		return nil
	}
	if len(pc.impostors) > 0 {
		// Two hosts' certificates in an attacker's hands are a majority
		// of three, which may depose the manager by design.
		return faults.Unsupported("a second impostor (of %s) while one is in place: a majority of compromised hosts may depose the manager by design", host)
	}
	im, err := StartImpostor(filepath.Join(pc.Dir, "certs"), host, victim, pc.Addrs[host])
	if err != nil {
		return err
	}
	if pc.impostors == nil {
		pc.impostors = map[string]*Impostor{}
	}
	pc.impostors[host] = im
	px.Redirect(im.Addr())
	pc.logf("impostor of %s (speaking for %s) at %s", host, victim, im.Addr())
	return nil
}

// EndImpostor gives host's address back to its agent.
func (pc *ProcessCluster) EndImpostor(host string) {
	pc.mu.Lock()
	im := pc.impostors[host]
	delete(pc.impostors, host)
	pc.mu.Unlock()
	if im == nil {
		return
	}
	if px, ok := pc.Links[host].(*Proxy); ok {
		px.Redirect(pc.Addrs[host])
	}
	im.Close()
	pc.logf("impostor of %s gone after %d forged messages", host, im.Forged())
}

// endImpostors ends every impostor (heal, stop).
func (pc *ProcessCluster) endImpostors() {
	pc.mu.Lock()
	var hosts []string
	for h := range pc.impostors { // purity:unordered harness code, each ended alike
		hosts = append(hosts, h)
	}
	pc.mu.Unlock()
	for _, h := range hosts {
		pc.EndImpostor(h)
	}
}

// ImpostorForged is how many messages the impostor of host has forged so
// far (0 when there is none).
func (pc *ProcessCluster) ImpostorForged(host string) int {
	pc.mu.Lock()
	im := pc.impostors[host]
	pc.mu.Unlock()
	if im == nil {
		return 0
	}
	return im.Forged()
}
