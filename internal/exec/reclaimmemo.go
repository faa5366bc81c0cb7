package exec

import (
	"slices"
	"strings"

	"github.com/fencecheck/fencecheck/internal/diag"
	"github.com/fencecheck/fencecheck/internal/kernel"
)

// Quiet reclaim callbacks, run once per state (FIFO only).
//
// Direct reclaim runs every shrinker and every mmu notifier callback
// (memory.go, K11), and every allocation site enters it once, so a design
// with F devices runs F shrinkers and notifiers at each of its O(F)
// allocation sites: O(F²) steps, most of them callbacks that find nothing
// to do and change nothing — a shrinker whose trylock and eviction find an
// idle buffer, a notifier whose range is already invalidated. The FIFO
// schedule skips such a callback (a part of the reclaim body) when running
// it again would do exactly what its last runs did:
//
//   - its last two runs were quiet and equal: the reclaiming thread ran it
//     from start to end without blocking, without another actor stepping
//     in between, without waking or re-checking any other thread,
//     spawning one, or reporting anything, left its own held locks as it
//     found them, and the second run, from the state the first left, took
//     the same steps with the same footprints (memoEnd says why one quiet
//     run is not enough);
//   - since then no step conflicted with what those runs read or wrote:
//     each step's footprint (the explorer's, Transition.Foot, which must
//     cover everything a step reads or writes) is checked against theirs;
//   - it is entered from the same context (a PTE zap records the zapping
//     context for golden-rule reports).
//
// Running the callback again would then read the state its last run left
// and write it back unchanged: lock and unlock pairs on free locks, waits
// on signalled fences, zaps and flushes with nothing left to clear. Two
// writes differ, and the skip accounts for both. mmu_interval_set_seq()
// bumps the range's sequence again, and nothing can observe that: a reader
// compares the sequence only with its own read_begin's, every read_begin
// made before the last run is already stale, and one made since would have
// conflicted ("?seq" against "+seq"). A zap records itself as the last
// step that touched the object's PTEs (sim.ptSites, named by golden-rule
// reports) whether it clears anything or not, and no footprint covers that
// record: the skip writes the records the last run wrote again. The
// skipped steps still count (Schedule.Steps, the step limit), so the
// schedule's outcome, findings and step count are those of running every
// callback. Traces (Options.Trace) and random or explored schedules run
// every step: their interleavings are made of these steps.
//
// The condition on waking or re-checking other threads (sim.stir) is
// kept although no test needs it, because the argument that it is
// redundant rests on invariants of the run queue rather than on
// footprints: a thread parked on a lock or an invalidation count is
// woken by every release of the lock and every lowering of the count
// (runq.go wakeAll), so while it stays parked the lock is held or the
// count is raised, and a callback that took the lock or raised and lowered
// the count, leaving it as it found it, could only have re-parked it;
// a runnable thread it re-checked is runnable again once the callback
// left the state as it found it. Skipping such a run would leave the
// threads as running it does. Removing the condition changes no outcome
// on the tests below and saves about 1% of the driver family's FIFO run,
// too little to trade a check for an argument.
//
// Only callbacks made of the step kinds below are candidates; any other
// kind (a ww context, a reference drop with a finalizer, a signalling
// section, a read_begin) keeps its callback stepped every time.

// memoKinds are the step kinds a skippable callback may contain: each
// shows in its footprint whether it changed what the callback reads (see
// memoEnd).
var memoKinds = map[kernel.OpKind]bool{
	kernel.OpAcquire: true, kernel.OpRelease: true, kernel.OpMight: true, kernel.OpAlloc: true,
	kernel.OpWait: true, kernel.OpWaitResv: true, kernel.OpEvict: true, kernel.OpSetSeq: true,
	kernel.OpZapPTEs: true, kernel.OpTLBFlush: true, kernel.OpAssertHeld: true,
	kernel.OpWritePTE: true, kernel.OpRegNotifier: true,
}

// reclaimPart is one callback of the direct-reclaim body: ops [start, end)
// of Program.Reclaim, from the shrinker's or the notifier walk's synthetic
// acquire through its release.
type reclaimPart struct {
	start, end int
	// The last quiet run, kept while no step conflicts with it (gen
	// counts invalidations): the context it ran in, its steps' footprints
	// in order, the steps and scheduling iterations it took, and the zap
	// sites it recorded. pending: it has run quiet once from this state;
	// ok: a second quiet run from the state the first left did the same
	// (see confirm).
	pending, ok bool
	gen         uint32
	ctx         string
	foot        []string
	steps, iter int
	sites       []siteWrite
}

// siteWrite is a zap or map's record of the step that last wrote an
// object's PTEs (sim.ptSites, whose entries are never removed): a
// skipped callback writes it again.
type siteWrite struct {
	cell *diag.Step
	site diag.Step
}

// memoRun is the callback being recorded.
type memoRun struct {
	part        int // index into sim.parts; -1: none
	t           *thread
	f           *frame
	steps, iter int
	stir        int
	findings    int
	threads     int
	held, inval int
	foot        []string
	sites       []siteWrite
}

// memoRef registers a quiet run's footprint entry under its key.
type memoRef struct {
	part int32
	gen  uint32
	mode int8
}

// reclaimParts splits the reclaim body into callbacks; only those made of
// memoKinds are returned.
func reclaimParts(ops []kernel.Op) []reclaimPart {
	var parts []reclaimPart
	for i := 0; i < len(ops); i++ {
		o := &ops[i]
		if o.Kind != kernel.OpAcquire || o.Pos.Valid() || !(strings.HasPrefix(o.Lock, "shrinker(") || o.Lock == kernel.MMUNotifier) {
			continue
		}
		end, ok := -1, true
		for j := i + 1; j < len(ops); j++ {
			b := &ops[j]
			if b.Kind == kernel.OpRelease && b.Lock == o.Lock && !b.Pos.Valid() {
				end = j + 1
				break
			}
			if !memoKinds[b.Kind] || b.Ext().Ctx != "" || b.Unpublished || len(b.Ext().Then) > 0 {
				ok = false
			}
		}
		if end < 0 {
			break
		}
		if ok {
			parts = append(parts, reclaimPart{start: i, end: end})
		}
		i = end - 1
	}
	return parts
}

// memoStart sets up skipping for a FIFO schedule that keeps no trace.
func (s *sim) memoStart() {
	s.memo.part = -1
	if s.rng != nil || s.explore || s.opt.Trace || s.opt.noReclaimMemo || !s.pressure {
		return
	}
	s.parts = reclaimParts(s.p.Reclaim)
	if len(s.parts) == 0 {
		return
	}
	s.partAt = make([]int32, len(s.p.Reclaim))
	for i := range s.partAt {
		s.partAt[i] = -1
	}
	for i, p := range s.parts {
		s.partAt[p.start] = int32(i)
	}
	s.memoOn = true
}

// memoBefore is called before actor a takes a step: the step's footprint
// invalidates the quiet runs it conflicts with and joins the run being
// recorded, which another actor's step ends.
func (s *sim) memoBefore(a actor) {
	if s.memoValid == 0 && s.memo.part < 0 {
		return
	}
	if s.memo.part >= 0 && a.t != s.memo.t {
		s.memoAbort()
	}
	var foot []string
	if a.t != nil {
		foot = s.footprint(a)
	} else {
		foot = s.footprintOf(a)
	}
	// The callback being recorded is not dirtied by its own steps: they
	// are the run that is to confirm its last one (memoEnd).
	self := int32(-1)
	if s.memo.part >= 0 {
		self = int32(s.memo.part)
	}
	s.memoDirty(foot, self)
	if s.memo.part >= 0 {
		if foot == nil {
			s.memoAbort() // touches everything: never a quiet run
		} else {
			s.memo.foot = append(s.memo.foot, foot...)
		}
	}
}

// memoDirty invalidates the quiet runs a step with footprint foot
// conflicts with (all of them for a nil footprint), except part self's.
func (s *sim) memoDirty(foot []string, self int32) {
	if s.memoValid == 0 {
		return
	}
	if foot == nil {
		s.memoDirtyAll()
		return
	}
	for _, e := range foot {
		k, mode := Access(e)
		refs, ok := s.memoIdx[k]
		if !ok {
			continue
		}
		keep := refs[:0]
		for _, r := range refs {
			p := &s.parts[r.part]
			if !(p.ok || p.pending) || p.gen != r.gen {
				continue // stale
			}
			if r.part != self && (mode == Write || int(r.mode) == Write || mode != int(r.mode)) {
				s.invalidate(p)
				continue
			}
			keep = append(keep, r)
		}
		if len(keep) == 0 {
			delete(s.memoIdx, k)
		} else {
			s.memoIdx[k] = keep
		}
	}
}

func (s *sim) memoDirtyAll() {
	for i := range s.parts {
		if s.parts[i].ok || s.parts[i].pending {
			s.invalidate(&s.parts[i])
		}
	}
	clear(s.memoIdx)
}

func (s *sim) invalidate(p *reclaimPart) {
	p.ok, p.pending = false, false
	p.gen++
	s.memoValid--
}

// memoSkip is called when FIFO picked t: while t is at the start of a
// callback whose last quiet run is still valid, the callback is skipped
// and its steps and scheduling iterations count as taken (unless the
// step limit falls inside it). The callback t then runs is recorded.
func (s *sim) memoSkip(t *thread) {
	for t.blocked == nil && len(t.frames) > 0 {
		f := t.frames[len(t.frames)-1]
		if !f.reclaim || f.pc >= len(s.partAt) || s.partAt[f.pc] < 0 {
			return
		}
		i := int(s.partAt[f.pc])
		p := &s.parts[i]
		if !p.ok || p.ctx != t.context || s.iter+p.iter >= s.opt.MaxSteps {
			if s.memo.part != i || s.memo.t != t || s.memo.f != f {
				s.memoAbort()
				s.memo = memoRun{part: i, t: t, f: f, steps: s.steps, iter: s.iter, stir: s.stir,
					findings: len(s.findings), threads: len(s.threads), held: len(t.held), inval: len(t.invalActive),
					foot: s.memo.foot[:0], sites: s.memo.sites[:0]}
			}
			return
		}
		for _, w := range p.sites {
			*w.cell = w.site
		}
		f.pc = p.end
		s.skipped++
		s.steps += p.steps
		s.iter += p.iter
		t.ver++
		s.memoAbort()
	}
}

// memoAfter is called after t stepped: it ends the recording when t left
// the callback (at its end, or elsewhere: then it was not quiet).
func (s *sim) memoAfter(t *thread) {
	m := &s.memo
	if m.part < 0 {
		return
	}
	f := m.f
	p := &s.parts[m.part]
	switch {
	case t.blocked != nil || len(t.frames) == 0 || t.frames[len(t.frames)-1] != f:
		s.memoAbort()
	case f.pc == p.end:
		s.memoEnd(t)
	case f.pc <= p.start || f.pc > p.end:
		s.memoAbort()
	}
}

// memoAbort ends a recording that did not reach the callback's end. The
// callback's own steps did not invalidate its last quiet run (memoBefore),
// so it is invalidated now: part of it ran again, unchecked.
func (s *sim) memoAbort() {
	if s.memo.part < 0 {
		return
	}
	if p := &s.parts[s.memo.part]; p.ok || p.pending {
		s.invalidate(p)
	}
	s.memo.part = -1
}

// memoEnd files the recorded run if it was quiet.
//
// A quiet run does not make its callback skippable by itself: a later
// step of the callback may change what an earlier one read (a TLB flush
// before a zap finds the zapped entry only on the next run; an eviction
// before a zap finds the page still reachable). So a quiet run is kept as
// pending, and the callback is skipped only after a second quiet run, from
// the state the first one left (no conflicting step in between), took the
// same steps with the same footprints in the same context. Every step
// kind a callback may contain shows in its footprint whether it changed
// state (a zap that clears or not, a flush that drops or not; a lock and
// its unlock leave the lock as they found it), so two equal runs in a row
// mean the second one changed nothing the callback reads: every further
// run from there is the same again.
func (s *sim) memoEnd(t *thread) {
	m := &s.memo
	p := &s.parts[m.part]
	m.part = -1
	if s.stir != m.stir || len(s.findings) != m.findings || len(s.threads) != m.threads ||
		len(t.held) != m.held || len(t.invalActive) != m.inval {
		if p.ok || p.pending {
			s.invalidate(p) // its own steps did not (memoBefore)
		}
		return
	}
	steps, iter := s.steps-m.steps, s.iter-m.iter+1
	if (p.pending || p.ok) && p.ctx == t.context && p.steps == steps && p.iter == iter && slices.Equal(p.foot, m.foot) {
		p.ok = true // confirmed; its footprint is registered already
		p.sites = append(p.sites[:0], m.sites...)
		return
	}
	if p.ok || p.pending {
		s.invalidate(p)
	}
	p.pending, p.ctx = true, t.context
	p.foot = append(p.foot[:0], m.foot...)
	p.sites = append(p.sites[:0], m.sites...)
	p.steps, p.iter = steps, iter
	s.memoValid++
	if s.memoIdx == nil {
		s.memoIdx = map[string][]memoRef{}
	}
	idx := s.partAt[p.start]
	for _, e := range m.foot {
		k, mode := Access(e)
		refs := s.memoIdx[k]
		if n := len(refs); n > 0 && refs[n-1].part == idx && refs[n-1].gen == p.gen && int(refs[n-1].mode) == mode {
			continue
		}
		s.memoIdx[k] = append(refs, memoRef{part: idx, gen: p.gen, mode: int8(mode)})
	}
}
