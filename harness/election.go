package harness

import (
	"context"
	"sort"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/basalt-ha/basalt/harness/check"
)

// electionWatch follows the replicas' election in etcd from its first
// revision, as the leadership judge's ground truth: which campaign key is
// the oldest (the leader) when. The watch hears of each change a little
// after etcd made it, and after the replica concerned may have: every
// tenure is stretched to be lenient. It ends when the watch heard the key
// go, late, which is the side that matters: a correct leader stops acting
// a margin (a third of its TTL at most) before etcd expires its key, and a
// leader acting after it lost its key is caught however late the watch
// hears of the loss. It begins watchLag before the watch heard the key
// created: the replica may hear of its election before the watch does.
type electionWatch struct {
	cancel context.CancelFunc
	done   chan struct{}

	mu      sync.Mutex
	live    map[string]electionKey // by key
	leader  string                 // the key that leads, "" for none
	tenures []check.Tenure
	// lane is each change of leader when the watch heard it, for the
	// timeline (the tenures are stretched for the judge, this is not).
	lane []check.ManagerEvent
}

type electionKey struct {
	rev     int64
	name    string
	created time.Time // when the watch heard of it
}

// watchLag is how much earlier than the watch a replica may hear of its
// key: loopback and one etcd member take milliseconds; a second is ample.
const watchLag = time.Second

// watchElection starts following the keys under prefix (the election's)
// on etcd at endpoint. It runs until stop.
func watchElection(endpoint, prefix string) (*electionWatch, error) {
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoint}, DialTimeout: 5 * time.Second})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &electionWatch{cancel: cancel, done: make(chan struct{}), live: map[string]electionKey{}}
	ch := cli.Watch(clientv3.WithRequireLeader(ctx), prefix, clientv3.WithPrefix(), clientv3.WithRev(1))
	go func() {
		defer close(w.done)
		defer cli.Close()
		for resp := range ch {
			now := time.Now()
			for _, ev := range resp.Events {
				w.apply(now, ev)
			}
		}
	}()
	return w, nil
}

func (w *electionWatch) apply(now time.Time, ev *clientv3.Event) {
	w.mu.Lock()
	defer w.mu.Unlock()
	key := string(ev.Kv.Key)
	if ev.Type == clientv3.EventTypeDelete {
		delete(w.live, key)
	} else if _, ok := w.live[key]; !ok {
		w.live[key] = electionKey{rev: ev.Kv.CreateRevision, name: string(ev.Kv.Value), created: now}
	}
	oldest := ""
	for k, v := range w.live {
		if oldest == "" || v.rev < w.live[oldest].rev {
			oldest = k
		}
	}
	if oldest == w.leader {
		return
	}
	if w.leader != "" {
		w.tenures[len(w.tenures)-1].To = now
	}
	w.leader = oldest
	if oldest == "" {
		w.lane = append(w.lane, check.ManagerEvent{At: now, State: check.ManagerNone})
		return
	}
	k := w.live[oldest]
	w.tenures = append(w.tenures, check.Tenure{Rev: k.rev, Name: k.name, From: k.created.Add(-watchLag)})
	w.lane = append(w.lane, check.ManagerEvent{At: now, Replica: k.name, Epoch: uint64(k.rev), State: check.ManagerActing})
}

// Tenures are the leaderships seen so far, oldest first.
func (w *electionWatch) Tenures() []check.Tenure {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := append([]check.Tenure(nil), w.tenures...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].From.Before(out[j].From) })
	return out
}

func (w *electionWatch) stop() {
	w.cancel()
	<-w.done
}

// LeaderLane is the timeline's manager lane with replicas: who led, at
// which epoch, as etcd's election had it (none without replicas).
func (pc *ProcessCluster) LeaderLane() []check.ManagerEvent {
	pc.mu.Lock()
	w := pc.election
	pc.mu.Unlock()
	if w == nil {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]check.ManagerEvent(nil), w.lane...)
}
