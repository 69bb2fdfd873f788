package cluster

// freeList holds objects of one kind that are free for reuse: messages in
// flight, timers, resource agent runs. Each carries the queue callback made
// when it was first allocated, so reusing one schedules an event without a
// new closure. A list is bounded by the most objects of its kind ever in
// use at once.
type freeList[T any] []*T

// take is a free object, or fresh() when there is none.
func (l *freeList[T]) take(fresh func() *T) *T {
	n := len(*l)
	if n == 0 {
		return fresh()
	}
	x := (*l)[n-1]
	(*l)[n-1] = nil
	*l = (*l)[:n-1]
	return x
}

// put frees x; the caller has reset what it must not keep.
func (l *freeList[T]) put(x *T) { *l = append(*l, x) }
