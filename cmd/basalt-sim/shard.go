package main

import (
	"fmt"
	"iter"
	"strconv"
	"strings"
)

// shard is the K-th (1-based) of N slices of a seed range. The slices
// interleave: seed FROM+i belongs to shard i mod N + 1, so shard K runs
// FROM+K-1, FROM+K-1+N, and so on. Contiguous blocks would be as even in
// count, but a seed's cost is not: interleaving gives every shard a
// sample of the whole range, so no shard gets a stretch of slow seeds, and
// each one starts at the range's beginning, where a swarm that stops at
// its first violation looks first.
type shard struct{ k, n uint64 }

// whole is the range unsliced.
var whole = shard{1, 1}

// parseShard reads --shard K/N.
func parseShard(s string) (shard, error) {
	a, b, ok := strings.Cut(s, "/")
	k, errK := strconv.ParseUint(a, 10, 64)
	n, errN := strconv.ParseUint(b, 10, 64)
	if !ok || errK != nil || errN != nil {
		return shard{}, fmt.Errorf("--shard %q: want K/N, the K-th of N slices, counted from 1 (1/8 to 8/8)", s)
	}
	switch {
	case n < 1:
		return shard{}, fmt.Errorf("--shard %q: N must be at least 1", s)
	case k < 1:
		return shard{}, fmt.Errorf("--shard %q: K counts from 1 (1/%d to %d/%d)", s, n, n, n)
	case k > n:
		return shard{}, fmt.Errorf("--shard %q: there is no shard %d of %d (K counts from 1 to N)", s, k, n)
	}
	return shard{k, n}, nil
}

func (sh shard) String() string { return fmt.Sprintf("%d/%d", sh.k, sh.n) }

// of reports whether seed, of the range from..to, is the shard's.
func (sh shard) of(from, seed uint64) bool { return (seed-from)%sh.n == sh.k-1 }

// count is how many seeds of from..to the shard runs.
func (sh shard) count(from, to uint64) uint64 {
	if sh.k-1 > to-from {
		return 0
	}
	return (to-from-(sh.k-1))/sh.n + 1
}

// seeds yields the shard's seeds of from..to in order.
func (sh shard) seeds(from, to uint64) iter.Seq[uint64] {
	return func(yield func(uint64) bool) {
		if sh.k-1 > to-from {
			return
		}
		for i := sh.k - 1; ; i += sh.n {
			if !yield(from+i) || to-from-i < sh.n {
				return
			}
		}
	}
}

// describe says which seeds the shard runs, for its summary.
func (sh shard) describe(from, to uint64) string {
	if sh.count(from, to) == 0 {
		return fmt.Sprintf("%s of seeds %d-%d: no seed (fewer seeds than shards)", sh, from, to)
	}
	return fmt.Sprintf("%s of seeds %d-%d: %d seeds, every %s from %d", sh, from, to, sh.count(from, to), ordinal(sh.n), from+sh.k-1)
}

func ordinal(n uint64) string {
	switch {
	case n == 1:
		return "seed"
	case n%100 >= 11 && n%100 <= 13:
		return fmt.Sprintf("%dth", n)
	case n%10 == 1:
		return fmt.Sprintf("%dst", n)
	case n%10 == 2:
		return fmt.Sprintf("%dnd", n)
	case n%10 == 3:
		return fmt.Sprintf("%drd", n)
	}
	return fmt.Sprintf("%dth", n)
}
