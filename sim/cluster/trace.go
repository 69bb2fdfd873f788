package cluster

import (
	"fmt"
	"strconv"
	"time"

	"github.com/basalt-ha/basalt/core/effect"
	"github.com/basalt-ha/basalt/core/proto"
)

// The trace is hashed as it happens, and most runs (a swarm's seeds) only
// want the hash: its lines are encoded into one reused buffer and streamed
// into the hasher, and made into strings only for a Trace callback. The
// bytes hashed are exactly the lines' text (fmt's, time.Duration.String's),
// so that however the text is produced, the same trace gives the same
// hash, and `basalt-sim replay --trace` shows what was hashed.

// trace records one line: the virtual time since Start, a space, and the
// formatted text.
func (c *Cluster) trace(format string, args ...any) {
	c.endLine(fmt.Appendf(c.startLine(), format, args...))
}

// traceDeliver is trace("deliver %s->%s conn=%d %s", from, to, conn, desc)
// without fmt: the simulator's most frequent line (every heartbeat), whose
// arguments fmt would box on the heap.
func (c *Cluster) traceDeliver(from, to string, conn effect.ConnID, desc string) {
	c.endLine(append(c.startDeliver(from, to, conn), desc...))
}

// traceMessage is traceDeliver of msg's description, appended straight
// into the line buffer when the message can (proto.Describer: heartbeats,
// commands, results, the messages of nearly every line) instead of built
// as a string and copied.
func (c *Cluster) traceMessage(from, to string, conn effect.ConnID, msg effect.Message) {
	d, ok := msg.(proto.Describer)
	if !ok {
		c.traceDeliver(from, to, conn, msg.Describe())
		return
	}
	c.endLine(d.AppendDescribe(c.startDeliver(from, to, conn)))
}

// startDeliver starts a deliver line, up to the message's description.
func (c *Cluster) startDeliver(from, to string, conn effect.ConnID) []byte {
	b := append(c.startLine(), "deliver "...)
	b = append(append(append(b, from...), "->"...), to...)
	b = strconv.AppendUint(append(b, " conn="...), uint64(conn), 10)
	return append(b, ' ')
}

// startLine is the reused line buffer with the line's time prefix.
func (c *Cluster) startLine() []byte {
	return append(appendDuration(c.line[:0], c.Q.Now().Sub(Start)), ' ')
}

// endLine hashes a line built on startLine's buffer, newline-terminated,
// counts it, and hands it to the Trace callback if there is one. The
// buffer is kept for the next line: it grows to the longest line, no more.
func (c *Cluster) endLine(b []byte) {
	// One running hash over every line, newline-separated: the same
	// sequence of lines, and only it, gives the same hash.
	b = append(b, '\n')
	c.hasher.Write(b)
	c.line = b[:0]
	c.lines++
	if c.opts.Trace != nil {
		c.opts.Trace(string(b[:len(b)-1]))
	}
}

// appendDuration appends d in time.Duration.String's text ("1h2m3.5s",
// "1.5ms", "0s"), without the string that String allocates: whole hours
// and minutes, then seconds with their fraction, or, under a second, the
// largest unit of ns, µs and ms the value reaches.
func appendDuration(b []byte, d time.Duration) []byte {
	if d == 0 {
		return append(b, "0s"...)
	}
	u := uint64(d)
	if d < 0 {
		b = append(b, '-')
		u = -u // two's complement: right for math.MinInt64 too
	}
	const sec, minute, hour = uint64(time.Second), uint64(time.Minute), uint64(time.Hour)
	switch {
	case u < uint64(time.Microsecond):
		return append(strconv.AppendUint(b, u, 10), "ns"...)
	case u < uint64(time.Millisecond):
		return append(appendDecimal(b, u, 3), "µs"...)
	case u < sec:
		return append(appendDecimal(b, u, 6), "ms"...)
	}
	if h := u / hour; h > 0 {
		b = append(strconv.AppendUint(b, h, 10), 'h')
		b = append(strconv.AppendUint(b, u%hour/minute, 10), 'm')
	} else if m := u / minute; m > 0 {
		b = append(strconv.AppendUint(b, m, 10), 'm')
	}
	return append(appendDecimal(b, u%minute, 9), 's')
}

// appendDecimal appends v / 10^places as a decimal number: the whole part,
// then, if the rest is not zero, a point and its digits with the trailing
// zeros left out.
func appendDecimal(b []byte, v uint64, places int) []byte {
	scale := uint64(1)
	for range places {
		scale *= 10
	}
	b = strconv.AppendUint(b, v/scale, 10)
	rest := v % scale
	if rest == 0 {
		return b
	}
	for rest%10 == 0 {
		rest /= 10
		places--
	}
	// The fraction's digits, zero-padded to places, written from the
	// right: every trace line's time has one, and strconv's general
	// formatting and padding were a few percent of a seed.
	var buf [20]byte
	i := len(buf)
	for range places {
		i--
		buf[i] = byte('0' + rest%10)
		rest /= 10
	}
	return append(append(b, '.'), buf[i:]...)
}
