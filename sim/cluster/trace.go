package cluster

import (
	"fmt"
	"strconv"
	"time"

	"github.com/basalt-ha/basalt/core/effect"
)

// The trace is hashed as it happens, and most runs (a swarm's seeds) only
// want the hash: its lines are encoded into one reused buffer and streamed
// into the hasher, and made into strings only for a Trace callback. The
// bytes hashed are exactly the lines' text (fmt's, time.Duration.String's),
// so a seed's hash stays what it has always been.

// trace records one line: the virtual time since Start, a space, and the
// formatted text.
func (c *Cluster) trace(format string, args ...any) {
	c.endLine(fmt.Appendf(c.startLine(), format, args...))
}

// traceDeliver is trace("deliver %s->%s conn=%d %s", from, to, conn, desc)
// without fmt: the simulator's most frequent line (every heartbeat), whose
// arguments fmt would box on the heap.
func (c *Cluster) traceDeliver(from, to string, conn effect.ConnID, desc string) {
	b := append(c.startLine(), "deliver "...)
	b = append(append(append(b, from...), "->"...), to...)
	b = strconv.AppendUint(append(b, " conn="...), uint64(conn), 10)
	c.endLine(append(append(b, ' '), desc...))
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

// appendDuration appends d as time.Duration.String formats it ("1h2m3.5s",
// "1.5ms", "0s"), without the string that String allocates.
func appendDuration(b []byte, d time.Duration) []byte {
	// Laid out right to left in a fixed buffer, as String does: the
	// largest duration, "-2562047h47m16.854775808s", takes 25 bytes.
	var buf [32]byte
	w := len(buf)
	u := uint64(d)
	neg := d < 0
	if neg {
		u = -u
	}
	if u < uint64(time.Second) {
		// Under a second: a fraction of a smaller unit, "1.5ms".
		var prec int
		w--
		buf[w] = 's'
		w--
		switch {
		case u == 0:
			return append(b, "0s"...)
		case u < uint64(time.Microsecond):
			prec = 0
			buf[w] = 'n'
		case u < uint64(time.Millisecond):
			prec = 3
			// U+00B5 'µ' micro sign, as String writes it.
			w--
			copy(buf[w:], "µ")
		default:
			prec = 6
			buf[w] = 'm'
		}
		w, u = fmtFrac(buf[:w], u, prec)
		w = fmtInt(buf[:w], u)
	} else {
		w--
		buf[w] = 's'
		w, u = fmtFrac(buf[:w], u, 9)
		w = fmtInt(buf[:w], u%60) // u is now whole seconds
		u /= 60
		if u > 0 { // minutes
			w--
			buf[w] = 'm'
			w = fmtInt(buf[:w], u%60)
			u /= 60
			if u > 0 { // hours
				w--
				buf[w] = 'h'
				w = fmtInt(buf[:w], u)
			}
		}
	}
	if neg {
		w--
		buf[w] = '-'
	}
	return append(b, buf[w:]...)
}

// fmtFrac writes the fraction of v/10^prec (without trailing zeros, and
// without the point if it is zero) at the end of buf, and returns where it
// starts and v/10^prec.
func fmtFrac(buf []byte, v uint64, prec int) (int, uint64) {
	w := len(buf)
	printed := false
	for range prec {
		digit := v % 10
		printed = printed || digit != 0
		if printed {
			w--
			buf[w] = byte(digit) + '0'
		}
		v /= 10
	}
	if printed {
		w--
		buf[w] = '.'
	}
	return w, v
}

// fmtInt writes v in decimal at the end of buf and returns where it starts.
func fmtInt(buf []byte, v uint64) int {
	w := len(buf)
	if v == 0 {
		w--
		buf[w] = '0'
		return w
	}
	for v > 0 {
		w--
		buf[w] = byte(v%10) + '0'
		v /= 10
	}
	return w
}
