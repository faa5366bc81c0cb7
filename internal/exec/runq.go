package exec

// The run queue: who may take the next step, maintained as threads block,
// wake, park, finish and are spawned, so that choosing the next actor
// costs O(log n) instead of a scan of every live thread (issue 16).
//
// A live thread (not done) is in one of three places:
//
//   - sure: runnable(t) holds. Either it is not blocked, or it was woken
//     and re-checked; if another actor can make it unrunnable again (take
//     the lock first, queue another worker, start an invalidation) it is
//     watched on that state and re-checked when the state changes.
//   - recheck: it blocked, or something it waits for changed (woken),
//     since it was last checked; drained before the next choice.
//   - parked: it cannot run and waits in a queue (a lock's or a fence's,
//     or otherWaiters) until the state it waits on changes.
//
// Threads are identified by creation order (thread.id), which is the order
// every schedule lists them in, so FIFO and the seeded random choice pick
// exactly the threads a full scan calling runnable() on every live thread
// picked.

// idSet is a set of small non-negative integers with O(log n) insert,
// delete and k-th element (a Fenwick tree over membership).
type idSet struct {
	tree []int32 // 1-based Fenwick tree; len(tree)-1 is the capacity, a power of two
	in   []bool
	n    int
	lo   int // no member is smaller (a hint for first)
}

// first is the smallest member (n > 0). FIFO asks for it at every step
// and it rarely moves far, so a short scan from the hint beats kth(0);
// past 64 places it falls back to kth(0), keeping O(log n).
func (s *idSet) first() int {
	for i := 0; i < 64; i++ {
		if s.in[s.lo] {
			return s.lo
		}
		s.lo++
	}
	s.lo = s.kth(0)
	return s.lo
}

func (s *idSet) grow(id int) {
	if id < len(s.in) {
		return
	}
	c := max(64, len(s.in))
	for c <= id {
		c *= 2
	}
	in := make([]bool, c)
	copy(in, s.in)
	s.in = in
	s.tree = make([]int32, c+1)
	for i, b := range in {
		if b {
			s.tree[i+1]++
		}
	}
	for i := 1; i <= c; i++ {
		if j := i + i&-i; j <= c {
			s.tree[j] += s.tree[i]
		}
	}
}

func (s *idSet) has(id int) bool { return id < len(s.in) && s.in[id] }

func (s *idSet) add(id int) {
	s.grow(id)
	if s.in[id] {
		return
	}
	s.in[id] = true
	s.n++
	s.lo = min(s.lo, id)
	for i := id + 1; i < len(s.tree); i += i & -i {
		s.tree[i]++
	}
}

func (s *idSet) remove(id int) {
	if !s.has(id) {
		return
	}
	s.in[id] = false
	s.n--
	for i := id + 1; i < len(s.tree); i += i & -i {
		s.tree[i]--
	}
}

// kth is the k-th smallest member (0-based); k < s.n.
func (s *idSet) kth(k int) int {
	pos := 0
	for step := len(s.in); step > 0; step >>= 1 {
		if next := pos + step; next < len(s.tree) && int(s.tree[next]) <= k {
			pos = next
			k -= int(s.tree[next])
		}
	}
	return pos // the member's 1-based position minus one
}

// settle files t after it stepped (or was spawned): runnable, to be
// re-checked, or parked/finished (in neither).
func (s *sim) settle(t *thread) {
	switch {
	case t.done || t.parked:
		s.sure.remove(t.id)
	case t.blocked == nil:
		s.sure.add(t.id)
	default:
		s.sure.remove(t.id)
		s.toRecheck(t)
	}
}

func (s *sim) toRecheck(t *thread) {
	if !t.inRecheck {
		t.inRecheck = true
		s.recheck = append(s.recheck, t)
	}
}

// waitKey names a piece of state a blocked thread's runnability depends on
// (see condKey); kind "" means it never reverts once true.
type waitKey struct{ kind, name string }

// condKey is the state runnable(t) reads for t's wait, besides t's own:
// the lock's holder and ticket, the queued workers of a path, a userptr's
// invalidation count, the faulting jobs of a device. A signalled fence
// and a published in-fence stay so: those have no key.
func (s *sim) condKey(b *blockOn) waitKey {
	switch b.kind {
	case "lock":
		return waitKey{"lock", b.inst}
	case "work":
		return waitKey{"work", b.inst}
	case "invalidation":
		return waitKey{"inval", b.inst}
	case "gpu-fault":
		return waitKey{"fault", b.inst}
	case "published":
		if fi := s.p.Fences[b.fence]; fi != nil && fi.Job != "" {
			return waitKey{"job", fi.Job}
		}
	}
	return waitKey{}
}

// drain evaluates the threads on the recheck list: one that may run joins
// the sure set (watched, if another actor can make it unrunnable again),
// one that cannot is parked. Evaluating a thread parks it if it cannot
// run, which changes nothing another actor can observe (a lock waiter is
// woken again by the next release whether or not it re-queued), so
// evaluating threads earlier than a full scan would gives the same
// schedule.
func (s *sim) drain() {
	n := len(s.recheck)
	for _, t := range s.recheck[:n] {
		t.inRecheck = false
		switch {
		case t.done || t.parked:
		case t.blocked == nil:
			s.sure.add(t.id)
		case s.runnable(t):
			s.sure.add(t.id)
			t.watchGen++ // older watch entries are stale
			switch k := s.condKey(t.blocked); k.kind {
			case "", "job":
			case "lock":
				// Kept on the lock itself: take and drop re-check them
				// without a map lookup.
				l := s.lockOf(k.name)
				l.watch = append(l.watch, watch{t, t.watchGen})
			default:
				s.watchers[k] = append(s.watchers[k], watch{t, t.watchGen})
			}
		default:
			s.park(t)
		}
	}
	rest := copy(s.recheck, s.recheck[n:])
	clear(s.recheck[rest:])
	s.recheck = s.recheck[:rest]
}

// watch is a runnable blocked thread watched on the state of its wait;
// gen tells a current entry from a stale one.
type watch struct {
	t   *thread
	gen uint32
}

// park queues a thread that cannot run on the event that may let it (a
// lock's release and a fence's signal queue it in runnable/block).
func (s *sim) park(t *thread) {
	if t.parked {
		return
	}
	k := s.condKey(t.blocked)
	if k.kind == "" || k.kind == "lock" {
		// Not reached: a lock waiter re-queues itself in runnable(), a
		// fence waiter is runnable once woken. Keep it re-checked.
		s.toRecheck(t)
		return
	}
	t.parked = true
	s.otherWaiters[k] = append(s.otherWaiters[k], t)
}

// changed is called after the state named by kind+name changed: threads
// parked on it are woken (re-checked at the next choice) and runnable
// threads whose wait depends on it are re-checked now.
func (s *sim) changed(kind, name string) {
	if len(s.otherWaiters) == 0 && len(s.watchers) == 0 {
		return
	}
	k := waitKey{kind, name}
	if len(s.otherWaiters[k]) > 0 {
		wakeAll(s, s.otherWaiters, k)
	}
	ws, ok := s.watchers[k]
	if !ok {
		return
	}
	s.stir++
	if ws = s.recheckWatched(ws); len(ws) == 0 {
		delete(s.watchers, k)
	} else {
		s.watchers[k] = ws
	}
}

// recheckWatched re-checks watched threads after the state they wait on
// changed: those that can no longer run are parked. It returns the
// entries still current.
func (s *sim) recheckWatched(ws []watch) []watch {
	s.stir++
	keep := ws[:0]
	for _, w := range ws {
		t := w.t
		if w.gen != t.watchGen || t.blocked == nil || t.done || t.parked || !s.sure.has(t.id) {
			continue // it stepped or was re-filed since
		}
		if s.runnable(t) {
			keep = append(keep, w)
			continue
		}
		t.watchGen++
		s.sure.remove(t.id)
		s.park(t)
	}
	clear(ws[len(keep):])
	return keep
}

// wakeAll puts the threads parked in waiters[key] back on the run queue,
// to be re-checked before the next choice.
func wakeAll[K comparable](s *sim, waiters map[K][]*thread, key K) {
	if len(waiters[key]) > 0 {
		s.stir++
	}
	for _, w := range waiters[key] {
		w.woken = true
		if w.parked && !w.done {
			w.parked = false
			s.toRecheck(w)
		}
	}
	delete(waiters, key)
}
