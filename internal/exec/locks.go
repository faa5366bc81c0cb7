package exec

// Locks: instances, acquisition with ww_mutex Wait-Die, release, failure
// branches.

import (
	"fmt"
	"strings"

	"github.com/fencecheck/fencecheck/internal/kernel"
	"github.com/fencecheck/fencecheck/internal/model"
)

func (s *sim) isReal(o *kernel.Op) bool {
	if o.Ext().Obj != "" {
		return true
	}
	switch o.Lock {
	case kernel.MmapLock, kernel.IMmapRwsem:
		return true
	}
	switch s.p.LockKind(o.Lock) {
	case "mutex", "spinlock", "raw_spinlock", "rwsem", "rwlock", "ww_mutex", "srcu", "semaphore":
		return true
	}
	return false
}

// heldIndex finds the innermost hold of the named instance; "unlock: X"
// also releases a nested "X/N" hold (the loader's rule for subclasses).
func heldIndex(t *thread, key string) int {
	for i := len(t.held) - 1; i >= 0; i-- {
		if !t.held[i].section && t.held[i].key == key {
			return i
		}
	}
	for i := len(t.held) - 1; i >= 0; i-- {
		if !t.held[i].section && strings.HasPrefix(t.held[i].key, key+"/") {
			return i
		}
	}
	return -1
}

// keyOf is the instance a lock step names (compiled once, kernel.Op.Inst);
// synthetic pseudo-lock steps are named by their node.
func keyOf(o *kernel.Op) string {
	if o.Inst != "" {
		return o.Inst
	}
	return o.Lock
}

// mustDie: under Wait-Die a younger acquire context that finds the lock
// held by an older one backs off with -EDEADLK (R23), unless this is the
// slow relock of the contended lock itself. A context that holds nothing
// yet just waits: __ww_mutex_check_kill() returns 0 when ctx->acquired is
// 0 (kernel/locking/ww_mutex.h), as there is nothing to drop.
func (s *sim) mustDie(t *thread, inst string, o *kernel.Op) bool {
	l := s.locks[inst]
	tk := t.tickets[o.Ext().Ctx]
	return o.Ext().Ctx != "" && l != nil && l.ticket != 0 && tk > l.ticket && t.slow != inst && acquiredIn(t, o.Ext().Ctx)
}

// acquiredIn: t holds a lock of acquire context ctx (ctx->acquired > 0).
func acquiredIn(t *thread, ctx string) bool {
	for _, h := range t.held {
		if h.ctx == ctx && h.inst != "" {
			return true
		}
	}
	return false
}

// ticketsCompared says whether some acquire context of p may acquire a lock
// while it holds another, the only time Wait-Die compares tickets
// (mustDie). If none can, the order in which contexts take their tickets
// is never observed. Conservative: every acquisition naming the context
// in a thread's ops, in direct reclaim and in finalizers counts.
func ticketsCompared(p *kernel.Program) bool {
	var count func(ops []kernel.Op, n map[string]int)
	count = func(ops []kernel.Op, n map[string]int) {
		for _, o := range ops {
			if o.Kind == kernel.OpAcquire && o.Ext().Ctx != "" {
				n[o.Ext().Ctx]++
			}
			count(o.Ext().Then, n)
		}
	}
	shared := map[string]int{}
	count(p.Reclaim, shared)
	for _, th := range p.Threads {
		n := map[string]int{}
		for c, k := range shared {
			n[c] = k
		}
		count(th.Ops, n)
		for _, k := range n {
			if k > 1 {
				return true
			}
		}
	}
	return false
}

func (s *sim) canLock(t *thread, inst string, mode kernel.Mode) bool {
	l := s.locks[inst]
	if l == nil {
		return true
	}
	if mode == kernel.Write {
		return l.writer < 0 && len(l.readers) == 0
	}
	return l.writer < 0
}

// lockOf is the lock's state, created free on first use.
func (s *sim) lockOf(inst string) *lockState {
	l := s.locks[inst]
	if l == nil {
		l = &lockState{writer: -1, readers: map[int]int{}}
		s.locks[inst] = l
	}
	return l
}

func (s *sim) take(t *thread, inst string, mode kernel.Mode, ticket int) {
	l := s.lockOf(inst)
	l.ver++
	if mode == kernel.Write {
		l.writer, l.ticket = t.id, ticket
	} else {
		l.readers[t.id]++
	}
	if len(l.watch) > 0 {
		l.watch = s.recheckWatched(l.watch) // woken waiters may not get it now
	}
}

func (s *sim) drop(t *thread, inst string) {
	l := s.locks[inst]
	if l == nil {
		return
	}
	wakeAll(s, s.lockWaiters, inst)
	l.ver++
	if l.writer == t.id {
		l.writer, l.ticket = -1, 0
	} else if l.readers[t.id] > 0 {
		l.readers[t.id]--
		if l.readers[t.id] == 0 {
			delete(l.readers, t.id)
		}
	}
	if len(l.watch) > 0 {
		l.watch = s.recheckWatched(l.watch)
	}
	if strings.HasPrefix(inst, "resv:") {
		s.slots[strings.TrimPrefix(inst, "resv:")] = 0 // dma_resv_unlock resets reserved slots (R13)
	}
}

// holds says whether t holds the named instance (its key, see held).
func (s *sim) holds(t *thread, key string) bool {
	for _, h := range t.held {
		if h.key == key && !h.section {
			return true
		}
	}
	return false
}

func (s *sim) acquire(t *thread, f *frame, o *kernel.Op) bool {
	key := keyOf(o)
	if !s.isReal(o) {
		pos, path := heldSite(f, o)
		t.held = append(t.held, held{key: key, name: o.Lock, mode: o.Mode, ctx: o.Ext().Ctx, pos: pos, path: path})
		if strings.HasPrefix(o.Lock, "notifier(") {
			// The interval stays invalidating until invalidate_range_end
			// (the release of the notifier map), not just the callback.
			u := strings.TrimSuffix(strings.TrimPrefix(o.Lock, "notifier("), ")")
			s.inval[u]++
			s.changed("inval", u) // read_begin must wait now
			t.invalActive = append(t.invalActive, u)
		}
		s.event(t, "lock", o.Text, o.Pos)
		return true
	}
	inst := key
	if o.Unpublished {
		// No other thread can reach the object (being created or
		// destroyed): its lock is never contended. The graph drops its
		// class-level edges for the same compiled fact (Op.Unpublished).
		inst = fmt.Sprintf("%s\x00private#%d", key, t.id)
	}
	if o.Ext().Ctx != "" && s.holds(t, key) {
		s.event(t, "lock", o.Text+" (-EALREADY: already locked in this context)", o.Pos)
		return true
	}
	if !s.canLock(t, inst, o.Mode) {
		if o.Try {
			s.failBranch(t, f, o, "trylock", " (contended: fails)")
			return false
		}
		if s.mustDie(t, inst, o) {
			// Wait-Die: the younger transaction backs off with -EDEADLK,
			// drops every lock of its context and relocks the contended one
			// first (drm_exec, R23).
			for i := len(t.held) - 1; i >= 0; i-- {
				if t.held[i].ctx == o.Ext().Ctx && t.held[i].inst != "" {
					s.drop(t, t.held[i].inst)
					t.held = append(t.held[:i], t.held[i+1:]...)
				}
			}
			s.event(t, "backoff", fmt.Sprintf("%s: -EDEADLK (older ticket holds it); unlock all and retry with %s first", o.Text, inst), o.Pos)
			t.slow = inst
			f.pc = t.ctxPC[o.Ext().Ctx]
			s.block(t, &blockOn{kind: "lock", inst: inst, op: o})
			// The slow lock is taken when the thread next runs.
			f.ops = append(append(append([]kernel.Op(nil), f.ops[:f.pc]...), *o), f.ops[f.pc:]...)
			f.hashed = false // the frame's ops changed (fingerprint.go)
			return false
		}
		s.block(t, &blockOn{kind: "lock", inst: inst, op: o})
		return false
	}
	if t.slow == inst {
		t.slow = ""
	}
	s.take(t, inst, o.Mode, t.tickets[o.Ext().Ctx])
	pos, path := heldSite(f, o)
	t.held = append(t.held, held{key: key, inst: inst, name: o.Lock, mode: o.Mode, ctx: o.Ext().Ctx, pos: pos, path: path})
	kind := "lock"
	if o.Try {
		kind = "trylock"
	}
	s.event(t, kind, o.Text, o.Pos)
	return true
}

// failBranch takes the step's compiled failure branch (on_fail:): continue
// at the label it names, or return from the path the step belongs to. The
// branch is a forward jump, so every path still ends.
// The event reads o.Text+why and where the path goes (built only when
// events are kept).
func (s *sim) failBranch(t *thread, f *frame, o *kernel.Op, kind, why string) {
	to := f.pc + int(o.FailTo)
	if o.FailTo <= 0 || to > len(f.ops) {
		to = len(f.ops)
	}
	if s.opt.Trace {
		where := "returns"
		if to < len(f.ops) {
			where = "continues at " + f.ops[to].Pos.String()
		}
		s.event(t, kind, o.Text+why+"; the path "+where, o.Pos)
	} else {
		s.steps++
	}
	f.pc = to
}

// heldSite is where a held lock was taken, for hang reports: the step, or
// for the shared direct-reclaim body (which has no steps of its own) the
// allocation that entered reclaim.
func heldSite(f *frame, o *kernel.Op) (model.Pos, string) {
	if !o.Pos.Valid() && f != nil && f.reclaim {
		if f.site == "" {
			f.site = "direct reclaim entered by " + f.why
		}
		return f.origin, f.site
	}
	return o.Pos, o.InPath()
}

func runAcquire(s *sim, t *thread, f *frame, o *kernel.Op) bool {
	return s.acquire(t, f, o)
}

func runRelease(s *sim, t *thread, f *frame, o *kernel.Op) bool {
	// Release the instance the step names, wherever it is in the held
	// stack (unlocking out of order is legal), not the last one taken.
	key := keyOf(o)
	before := 0
	if s.opt.Invariants {
		for _, h := range t.held {
			if h.key == key || strings.HasPrefix(h.key, key+"/") {
				before++
			}
		}
	}
	i := heldIndex(t, key)
	if i >= 0 {
		h := t.held[i]
		if h.inst != "" {
			s.drop(t, h.inst)
		}
		if h.name == kernel.MMUNotifier {
			for _, u := range t.invalActive {
				s.inval[u]--
				if s.inval[u] <= 0 {
					s.changed("inval", u) // read_begin waits for this
				}
			}
			t.invalActive = nil
		}
		t.held = append(t.held[:i], t.held[i+1:]...)
	}
	s.released(t, key, before)
	s.event(t, "unlock", o.Text, o.Pos)
	return true
}

func runMight(s *sim, t *thread, f *frame, o *kernel.Op) bool {
	s.event(t, "might_lock", o.Text, o.Pos)
	return true
}

func runWWInit(s *sim, t *thread, f *frame, o *kernel.Op) bool {
	s.ticket++
	t.tickets[o.Ext().Ctx] = s.ticket
	t.ctxPC[o.Ext().Ctx] = f.pc + 1
	t.held = append(t.held, held{name: kernel.WWAcquire, ctx: o.Ext().Ctx, pos: o.Pos, path: o.InPath()})
	s.event(t, "ww_acquire_init", o.Text, o.Pos)
	return true
}

func runWWDone(s *sim, t *thread, f *frame, o *kernel.Op) bool {
	s.event(t, "ww_acquire_done", o.Text, o.Pos)
	return true
}

func runWWFini(s *sim, t *thread, f *frame, o *kernel.Op) bool {
	for i := len(t.held) - 1; i >= 0; i-- {
		if t.held[i].ctx == o.Ext().Ctx {
			if t.held[i].inst != "" {
				s.drop(t, t.held[i].inst)
			}
			t.held = append(t.held[:i], t.held[i+1:]...)
		}
	}
	delete(t.tickets, o.Ext().Ctx)
	s.event(t, "ww_acquire_fini", o.Text, o.Pos)
	return true
}

func footWWFini(s *sim, t *thread, o *kernel.Op) []string {
	foot := []string{}
	for _, h := range t.held {
		if h.ctx == o.Ext().Ctx && h.inst != "" {
			foot = append(foot, "lock:"+h.inst, "resvslots:"+h.key)
		}
	}
	return foot
}

func footAcquire(s *sim, t *thread, o *kernel.Op) []string {
	if !s.isReal(o) {
		// The count of invalidations in progress on a range, which
		// read_begin waits on (mmu_interval_read_begin() waits while
		// an invalidation of the range is in progress;
		// mm/mmu_notifier.c): entering the range's callback raises it
		// (locks.go acquire), invalidate_range_end lowers it for every
		// range entered. Two changes commute; the start of the
		// notifier walk and the callback's return change nothing
		// another actor sees.
		if o.Kind == kernel.OpAcquire && strings.HasPrefix(o.Lock, "notifier(") {
			return []string{"+inval:" + strings.TrimSuffix(strings.TrimPrefix(o.Lock, "notifier("), ")")}
		}
		if o.Kind == kernel.OpRelease && o.Lock == kernel.MMUNotifier {
			return invalFoot(t)
		}
		return []string{}
	}
	if o.Unpublished && o.Kind == kernel.OpAcquire {
		return []string{} // a thread-private instance
	}
	key := keyOf(o)
	if o.Kind == kernel.OpRelease {
		if i := heldIndex(t, key); i >= 0 {
			h := t.held[i]
			if h.inst == "" {
				return []string{}
			}
			if shared(h.mode, h.ctx, h.inst) {
				return []string{"+lock:" + h.inst}
			}
			return []string{"lock:" + h.inst, "resvslots:" + h.key}
		}
		return []string{}
	}
	if shared(o.Mode, o.Ext().Ctx, key) {
		return []string{"+lock:" + key}
	}
	foot := []string{"lock:" + key}
	if o.Ext().Ctx != "" {
		// Wait-Die may drop every lock of the context; ww_mutex
		// tickets are compared with the holder's.
		foot = append(foot, "resvslots:"+key)
		for _, h := range t.held {
			if h.ctx == o.Ext().Ctx && h.inst != "" {
				foot = append(foot, "lock:"+h.inst, "resvslots:"+h.key)
			}
		}
	}
	return foot
}

// tagAcquire: outside a ww context an acquire's footprint depends on the
// op alone (inside one, on the context's other locks).
func tagAcquire(s *sim, t *thread, o *kernel.Op) (footTag, bool) {
	return footTag{}, o.Ext().Ctx == ""
}

// tagRelease: the release of a real lock writes the instance its hold
// names, in the hold's mode and context.
func tagRelease(s *sim, t *thread, o *kernel.Op) (footTag, bool) {
	i := heldIndex(t, keyOf(o))
	if i < 0 || t.held[i].inst == "" {
		return footTag{}, false
	}
	h := &t.held[i]
	return footTag{inst: h.inst, key: h.key, ctx: h.ctx, mode: h.mode}, true
}

func footWWInit(s *sim, t *thread, o *kernel.Op) []string {
	// ww_acquire_init takes the next stamp of a global counter: the
	// order of two inits is observable only if Wait-Die ever compares
	// tickets (ticketsCompared).
	if !s.ticketsCompared {
		return []string{}
	}
	return []string{"ticket"}
}

// registered in transitions.go
func init() {
	stepKinds[kernel.OpAcquire] = stepKind{run: runAcquire, foot: footAcquire, footTag: tagAcquire}
	stepKinds[kernel.OpAssertHeld] = stepKind{run: nil, foot: footPrivate}
	stepKinds[kernel.OpLocalBH] = stepKind{run: nil, foot: footPrivate}
	stepKinds[kernel.OpLocalIRQ] = stepKind{run: nil, foot: footPrivate}
	stepKinds[kernel.OpMight] = stepKind{run: runMight, foot: footPrivate}
	stepKinds[kernel.OpRelease] = stepKind{run: runRelease, foot: footAcquire, footTag: tagRelease}
	stepKinds[kernel.OpWWDone] = stepKind{run: runWWDone, foot: footPrivate}
	stepKinds[kernel.OpWWFini] = stepKind{run: runWWFini, foot: footWWFini}
	stepKinds[kernel.OpWWInit] = stepKind{run: runWWInit, foot: footWWInit}
}
