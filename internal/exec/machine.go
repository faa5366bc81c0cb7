package exec

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/fencecheck/fencecheck/internal/diag"
	"github.com/fencecheck/fencecheck/internal/kernel"
	"github.com/fencecheck/fencecheck/internal/model"
)

// Machine is one execution driven from outside, step by step: the
// systematic explorer (internal/explore) asks which transitions are
// enabled, how they depend on each other, and applies one. A Machine is
// deterministic: the same choices give the same run.
type Machine struct {
	s    *sim
	acts []actor
	en   []Transition
	step int
	done bool
	// fellBack: a fallback (timeout, foreign signal) ran since the last
	// step; the next step is ordered after everything.
	fellBack bool
	// sect[i] > 0: enabled transition i is a whole critical section of
	// that many steps (atomic.go); stepwise turns that reduction off.
	sect     []int
	stepwise bool
}

// SetStepwise makes every critical section a sequence of transitions, as
// the reference the atomic-section reduction (atomic.go) is tested against.
func (m *Machine) SetStepwise() { m.stepwise = true }

// Transition is an actor's next step as the explorer sees it.
type Transition struct {
	// Actor names the thread ("NAME#k", the k-th thread of that name:
	// stable whatever order unrelated threads were spawned in) or the
	// engine ("e:NAME") that takes the step.
	Actor string
	// Foot and Releases may be shared with later calls: read them, never
	// modify them.
	//
	// Foot is what the step reads or writes (lock instances, fences,
	// resvs, ...); nil means everything (a step after a timeout, an exit
	// that others watch): such a step depends on every other. A key is
	// written ("k"), only read ("?k"), or changed by an update that
	// commutes with every other update of it ("+k": a counter's increment
	// or decrement, an idempotent clear); see Access.
	// Two reads or two updates of one key are independent.
	Foot []string
	// Blocked: for a pending transition that cannot run yet, the lock or
	// fence it waits for ("lock:X", "fence:F"). Releases: what taking the
	// transition releases or signals. A transition blocked on K and one
	// that releases K are never enabled together, so their order is not
	// a race (the "may be co-enabled" condition of DPOR).
	Blocked  string
	Releases []string
}

// CoEnabled says whether pending transition p (perhaps blocked) and step e
// may be enabled in one state.
func CoEnabled(e, p Transition) bool {
	if p.Blocked == "" {
		return true
	}
	for _, r := range e.Releases {
		if r == p.Blocked {
			return false
		}
	}
	return true
}

// How a footprint key is accessed (Transition.Foot).
const (
	Write  = 0 // "k": conflicts with every access of k
	Read   = 1 // "?k": conflicts with writes and updates of k
	Update = 2 // "+k": conflicts with writes and reads of k
)

// Access splits a footprint entry into its key and how it is accessed.
func Access(k string) (string, int) {
	if k != "" {
		switch k[0] {
		case '?':
			return k[1:], Read
		case '+':
			return k[1:], Update
		}
	}
	return k, Write
}

// Conflict says whether two footprint entries may not commute.
func Conflict(x, y string) bool {
	kx, mx := Access(x)
	ky, my := Access(y)
	return kx == ky && (mx == Write || my == Write || mx != my)
}

// Dependent says whether two transitions may not commute: some entry of
// one conflicts with some entry of the other (Conflict, written out here:
// the explorer asks this for every pair of steps it orders).
func Dependent(a, b Transition) bool {
	if a.Foot == nil || b.Foot == nil {
		return true
	}
	for _, x := range a.Foot {
		kx, mx := Access(x)
		for _, y := range b.Foot {
			ky, my := y, Write
			if len(y) > 0 {
				switch y[0] {
				case '?':
					ky, my = y[1:], Read
				case '+':
					ky, my = y[1:], Update
				}
			}
			if len(kx) == len(ky) && kx == ky && (mx == Write || my == Write || mx != my) {
				return true
			}
		}
	}
	return false
}

// NewMachine starts an execution of p for exploration. maxSteps <= 0 uses
// the program's step budget (StepBudget).
func NewMachine(p *kernel.Program, maxSteps int, trace bool) *Machine {
	if maxSteps <= 0 {
		maxSteps = StepBudget(p)
	}
	s := newSim(p, 0, Options{MaxSteps: maxSteps, Trace: trace, Only: -1}, map[*kernel.Thread][]kernel.Op{})
	s.explore = true
	s.ticketsCompared = ticketsCompared(p)
	return &Machine{s: s}
}

// StepBudget bounds one execution (see stepBudget); compute it once per
// program and pass it to every Machine.
func StepBudget(p *kernel.Program) int { return stepBudget(p) }

// Enabled returns the transitions that may be taken next, in a fixed order
// (threads by creation, then engines by name); none when the execution is
// over (completed, hung, or out of steps). When nothing can run, the
// fallbacks (a hung job's timeout, a foreign fence) happen here.
func (m *Machine) Enabled() []Transition {
	if m.done {
		return nil
	}
	for {
		if m.step >= m.s.opt.MaxSteps {
			m.done = true
			return nil
		}
		m.acts = m.s.actors()
		if m.parkBlocked() {
			continue
		}
		if len(m.acts) > 0 {
			break
		}
		if !m.s.fallback() {
			m.done = true
			return nil
		}
		m.fellBack = true
	}
	m.en, m.sect = m.en[:0], m.sect[:0]
	for _, a := range m.acts {
		foot, rel, n := m.s.footprint(a), []string(nil), 0
		if a.t != nil && !m.stepwise {
			if k, f, r, ok := m.s.atomicSection(a.t); ok {
				foot, rel, n = f, r, k
			}
		}
		if n == 0 {
			rel = m.s.releases(a)
		}
		if m.fellBack {
			foot = nil // after a timeout or a foreign signal: ordered after everything
		}
		m.en = append(m.en, Transition{Actor: actorID(a), Foot: foot, Releases: rel})
		m.sect = append(m.sect, n)
	}
	m.fellBack = false
	return m.en
}

// Pending returns the next transition of every actor that has one, enabled
// or blocked (a thread waiting for a lock, an engine stalled): the
// explorer's race detection asks whether taking it earlier would matter.
func (m *Machine) Pending() []Transition {
	var out []Transition
	for _, t := range m.s.threads {
		if !t.done {
			tr := Transition{Actor: actorID(actor{t: t}), Foot: m.s.footprint(actor{t: t})}
			if t.blocked == nil && !m.stepwise {
				if _, f, _, ok := m.s.atomicSection(t); ok {
					tr.Foot = f
				}
			}
			if b := t.blocked; b != nil {
				switch b.kind {
				case "lock":
					tr.Blocked = "lock:" + b.inst
				case "fence":
					tr.Blocked = "fence:" + b.fence
				case "published":
					if fi := m.s.p.Fences[b.fence]; fi != nil && fi.Job != "" {
						tr.Blocked = "submitted:" + fi.Job
					}
				case "invalidation":
					// read_begin waits while the range's invalidation
					// count is non-zero: never enabled together with an
					// invalidate_range_end, which needs it non-zero.
					tr.Blocked = "inval:" + b.inst
				}
			}
			out = append(out, tr)
		}
	}
	for _, n := range m.s.gpu.Busy() { // the engines with a queued job, by name
		if m.s.gpu.Lookup(n).Head() != "" {
			out = append(out, Transition{Actor: "e:" + n, Foot: m.s.footprint(actor{engine: n})})
		}
	}
	for i, sc := range m.s.schedNames() {
		if j, waits := m.s.nextReadyAt(i); j != "" || waits != "" {
			out = append(out, Transition{Actor: "s:" + sc, Foot: m.s.footprint(actor{sched: sc}), Blocked: waits})
		}
	}
	return out
}

// parkBlocked lets every runnable thread whose next step can only block
// (a held lock, an unsignalled fence, an unpublished in-fence, ...) block
// now. Trying and blocking changes nothing another actor can see, so it is
// not a transition: as one, it would be ordered against every step on the
// same lock or fence and multiply the interleavings for nothing.
func (m *Machine) parkBlocked() bool {
	parked := false
	for _, a := range m.acts {
		if a.t != nil && m.s.wouldBlock(a.t) {
			a.t.blocked = nil
			m.s.stepThread(a.t)
			parked = true
		}
	}
	return parked
}

// wouldBlock: t's next step blocks without changing shared state.
//
// parkBlocked asks this of every enabled thread at every scheduling
// point. A "no" is kept (wbMemo) until the thread steps, or, for a lock
// acquisition, until the lock is taken or released (lockState.ver); a
// signalled fence and a published in-fence stay so. Other answers are
// recomputed.
func (s *sim) wouldBlock(t *thread) bool {
	if m := &t.wb; m.ok && m.ver == t.ver && (m.lock == nil || m.lock.ver == m.lockVer) {
		return false
	}
	block, keep, l := s.wouldBlockNow(t)
	if !block && keep {
		t.wb = wbMemo{ok: true, ver: t.ver, lock: l}
		if l != nil {
			t.wb.lockVer = l.ver
		}
	}
	return block
}

// wbMemo keeps a "does not block" answer of wouldBlock.
type wbMemo struct {
	ok      bool
	ver     uint64     // the thread's step count
	lock    *lockState // the lock the answer read, if any
	lockVer uint64
}

// wouldBlockNow computes wouldBlock; keep says whether a "no" holds until
// t steps or lock l changes.
func (s *sim) wouldBlockNow(t *thread) (block, keep bool, l *lockState) {
	if len(t.frames) == 0 {
		return false, true, nil
	}
	f := t.frames[len(t.frames)-1]
	if f.pc >= len(f.ops) {
		return false, true, nil
	}
	if t.src != nil && len(t.frames) == 1 && f.pc == 0 {
		if t.src.Device != "" && !t.faultStarted {
			return false, true, nil
		}
		if t.src.Job != "" {
			for _, d := range s.jobs[t.src.Job].info.Deps {
				if d.Kind != "entity-order" && !s.published(d.On) {
					return true, false, nil
				}
			}
		}
	}
	o := &f.ops[f.pc]
	switch o.Kind {
	case kernel.OpAcquire:
		if o.Try || o.Unpublished || !s.isReal(o) {
			return false, true, nil
		}
		key := keyOf(o)
		l := s.lockOf(key) // a free lock's state, if it was never taken
		if o.Ext().Ctx != "" && (s.holds(t, key) || s.mustDie(t, key, o)) {
			return false, true, l
		}
		return !s.canLock(t, key, o.Mode), true, l
	case kernel.OpWait:
		return !s.fences[o.Ext().Fence], true, nil
	case kernel.OpReadBegin:
		return !s.unmapped[o.Ext().Obj] && s.inval[o.Ext().Obj] > 0, false, nil
	}
	return false, true, nil
}

func actorID(a actor) string {
	if a.t != nil {
		if a.t.aid == "" {
			a.t.aid = a.t.name + "#" + strconv.Itoa(a.t.ord)
		}
		return a.t.aid
	}
	if a.sched != "" {
		return "s:" + a.sched
	}
	return "e:" + a.engine
}

// Step takes enabled transition i, then lets the same thread run on
// through steps that only touch its own state (no other actor can
// observe the order of those, so they are not scheduling points).
func (m *Machine) Step(i int) {
	a := m.acts[i]
	m.apply(a)
	if a.t == nil {
		return
	}
	t := a.t
	for k := 1; k < m.sect[i] && !t.done && t.blocked == nil && m.step < m.s.opt.MaxSteps; k++ {
		m.apply(a) // the rest of an atomic critical section
	}
	for !t.done && m.step < m.s.opt.MaxSteps && t.blocked == nil && !t.parked {
		if f := m.s.footprint(actor{t: t}); f == nil || len(f) > 0 {
			return
		}
		if !m.s.runnable(t) {
			return
		}
		m.apply(actor{t: t})
	}
}

func (m *Machine) apply(a actor) {
	m.step++
	switch {
	case a.t != nil:
		a.t.blocked = nil
		m.s.stepThread(a.t)
	case a.sched != "":
		if j, _ := m.s.nextReady(a.sched); j != "" {
			m.s.event(nil, "sched", "drm_sched run_job work starts "+j+" on "+a.sched, m.s.jobs[j].info.Pos)
			m.s.startJob(j)
		}
	default:
		m.s.completeHead(a.engine, false)
	}
	if m.s.opt.Invariants {
		m.s.checkInvariants(m.step)
	}
}

// Result ends the execution and returns its schedule with findings;
// label is the interleaving's ID, shown in messages and replay hints.
func (m *Machine) Result(label, id string) *Schedule {
	s := m.s
	s.label, s.labelID = label, id
	sch := &Schedule{Index: 0, Outcome: "completed"}
	switch {
	case m.step >= s.opt.MaxSteps:
		sch.Outcome = "step-limit"
		s.finding("FC003", model.Pos{Line: 1, Col: 1}, fmt.Sprintf("execution did not finish within %d steps (%s)", s.opt.MaxSteps, s.where()), nil, "")
	case !s.allDone():
		sch.Outcome = "hang"
		s.reportHang()
	}
	s.liveness()
	return m.result(sch)
}

// Partial is the result of an execution stopped before its end (the
// explorer joined a state it had explored): the findings of the steps
// taken, and no end-of-execution checks, which the explored state's own
// executions made.
func (m *Machine) Partial(label, id string) *Schedule {
	m.s.label, m.s.labelID = label, id
	return m.result(&Schedule{Index: 0, Outcome: "joined"})
}

func (m *Machine) result(sch *Schedule) *Schedule {
	s := m.s
	// Every finding names the interleaving that shows it and how to
	// replay it (a hang's hint already does).
	for i := range s.findings {
		if d := &s.findings[i]; !strings.Contains(d.Hint, "Replay with:") {
			d.Hint = strings.TrimSpace(d.Hint + " Shown by " + s.where() + "; replay with: " + s.replay())
		}
	}
	sch.Events, sch.Steps = s.events, s.steps
	diag.Sort(s.findings)
	sch.Findings = s.findings
	return sch
}

// Violations returns the invariant violations seen so far.
func (m *Machine) Violations() []string { return m.s.violations }

// SetInvariants turns on the per-step invariant checks.
func (m *Machine) SetInvariants() { m.s.opt.Invariants = true }

// releases lists the locks and fences the actor's next step releases or
// signals (see Transition.Releases).
func (s *sim) releases(a actor) []string {
	if a.sched != "" {
		return nil
	}
	if a.t == nil {
		if j := s.gpu.Lookup(a.engine).Head(); j != "" {
			return []string{"fence:" + s.jobs[j].info.Fence}
		}
		return nil
	}
	// A thread's releases depend only on its own state and the program:
	// kept until it steps (see footprint).
	t := a.t
	if t.rel.ok && t.rel.ver == t.ver {
		return t.rel.v
	}
	out := s.threadReleases(t)
	t.rel = memo{v: out, ver: t.ver, ok: true}
	return out
}

func (s *sim) threadReleases(t *thread) []string {
	fi := len(t.frames) - 1
	for fi >= 0 && t.frames[fi].pc >= len(t.frames[fi].ops) {
		fi--
	}
	var out []string
	if fi < 0 {
		for _, h := range t.held {
			if h.inst != "" {
				out = append(out, "lock:"+h.inst)
			}
		}
		if t.role == "run_job" && t.job != "" {
			out = append(out, "sched:"+s.jobs[t.job].info.Scheduler)
		}
		return out
	}
	o := &t.frames[fi].ops[t.frames[fi].pc]
	switch o.Kind {
	case kernel.OpSignal:
		out = append(out, "fence:"+o.Ext().Fence)
	case kernel.OpSubmit:
		out = append(out, "submitted:"+o.Ext().Job)
	case kernel.OpRelease:
		if i := heldIndex(t, keyOf(o)); i >= 0 && t.held[i].inst != "" {
			out = append(out, "lock:"+t.held[i].inst)
		}
		if o.Lock == kernel.MMUNotifier {
			for _, u := range t.invalActive {
				out = append(out, "inval:"+u)
			}
		}
	case kernel.OpWWFini:
		for _, h := range t.held {
			if h.ctx == o.Ext().Ctx && h.inst != "" {
				out = append(out, "lock:"+h.inst)
			}
		}
	}
	return out
}

// signalFoot is what signalling a fence touches: the fence (its waiters),
// its context (the seqno-order check reads the other fences of the
// context) and its callback. Jobs waiting for it are started by their
// scheduler's own transition.
//
// Signalling the last pending component of a dma_fence_array or chain
// link signals it too, in the same step (signalComposites): so the
// footprint covers every composite the fence is part of, transitively.
func (s *sim) signalFoot(fence string) []string {
	foot := []string{"fence:" + fence, "fencectx:" + s.ctxOf(fence), "spawn:fence-cb:" + fence}
	for _, c := range s.compositesOf(fence) {
		foot = append(foot, "fence:"+c, "fencectx:"+s.ctxOf(c), "spawn:fence-cb:"+c)
	}
	return foot
}

// compositesOf lists the arrays and chain links fence is a component of,
// directly or through another composite (from the program, once).
func (s *sim) compositesOf(fence string) []string {
	if s.composites == nil {
		s.composites = map[string][]string{}
		direct := map[string][]string{}
		for _, name := range s.p.FenceOrder {
			for _, c := range s.p.Fences[name].Components {
				direct[c] = append(direct[c], name)
			}
		}
		for _, name := range s.p.FenceOrder {
			seen := map[string]bool{}
			var walk func(f string)
			walk = func(f string) {
				for _, c := range direct[f] {
					if !seen[c] {
						seen[c] = true
						s.composites[name] = append(s.composites[name], c)
						walk(c)
					}
				}
			}
			walk(name)
		}
	}
	return s.composites[fence]
}

func (s *sim) ctxOf(fence string) string {
	if fi := s.p.Fences[fence]; fi != nil {
		return fi.Context
	}
	return ""
}

// shared: taking or dropping the lock in a read mode, which only counts
// readers (lockState.readers): two readers' acquires and releases commute,
// a writer's do not (canLock). A reader that would block is parked, not a
// transition (wouldBlock). dma_resv locks (ww_mutexes) are never shared.
func shared(mode kernel.Mode, ctx, inst string) bool {
	return mode != kernel.Write && ctx == "" && !strings.HasPrefix(inst, "resv:")
}

// zapClears says whether zap_ptes o would clear a mapped PTE now.
func (s *sim) zapClears(o kernel.Op) bool {
	return s.mmu.ZapClears(o.Ext().Obj, s.p.Scenario.Kinds[o.Ext().Obj] == "vm")
}

// flushDrops says whether tlb_flush o would drop a zapped entry now.
func (s *sim) flushDrops(o kernel.Op) bool {
	return s.mmu.FlushDrops(o.Ext().Obj, s.p.Scenario.Kinds[o.Ext().Obj] == "vm")
}

// pteRead is the footprint of reading whether the GPU can still reach
// obj (hw.MMU.Reach): the VMs that mapped it, their page tables and TLBs
// (gpu.go).
func (s *sim) pteRead(obj string) []string {
	foot := []string{"?mappedin:" + obj}
	for _, vm := range s.mmu.MappedIn(obj) {
		foot = append(foot, "?pte:"+vm, "?tlb:"+vm)
	}
	return foot
}

// usersFoot is what the golden-rule check reads about the jobs that use an
// object: whether they were submitted and whether their fence signalled.
func (s *sim) usersFoot(obj string) []string {
	var foot []string
	for _, name := range s.usedBy[obj] {
		foot = append(foot, "?submitted:"+name, "?fence:"+s.jobs[name].info.Fence)
	}
	return foot
}

// footprint is what the actor's next step touches: nil for a step that may
// touch anything, empty for a step private to the thread. It must cover
// every piece of state the step reads or writes, findings included, or the
// explorer's sleep sets would prune an interleaving that matters.
//
// A thread's footprint is kept until the thread steps when it depends only
// on the thread's own state and the compiled program (footCached): the
// explorer asks for every enabled thread's footprint at every scheduling
// point, and most threads have not moved since the last one.
func (s *sim) footprint(a actor) []string {
	t := a.t
	if t == nil {
		return s.footprintOf(a)
	}
	if t.foot.ok && t.foot.ver == t.ver {
		return t.foot.v
	}
	foot := s.footprintOf(a)
	if s.footCached(t) {
		t.foot = memo{v: foot, ver: t.ver, ok: true}
	}
	return foot
}

// memo is a value of a thread's computed while its own state was at
// version ver (thread.ver, bumped at every step of the thread).
type memo struct {
	v   []string
	ver uint64
	ok  bool
}

// footCached says whether t's next footprint depends on nothing but t's
// own state (frames, held locks, read_begin marks, role) and the compiled
// program. Those that read shared state another actor changes are not
// kept: a resv's fences (wait_resv, evict), the page tables (zap_ptes,
// tlb_flush, map_pages and the GPU-reach reads of free_pages and unpin),
// whether a VM exists yet (vm_update), whether a range is unmapped
// (read_begin), whether it was invalidated since read_begin (read_retry).
func (s *sim) footCached(t *thread) bool {
	fi := len(t.frames) - 1
	for fi >= 0 && t.frames[fi].pc >= len(t.frames[fi].ops) {
		fi--
	}
	if fi < 0 {
		return true
	}
	switch t.frames[fi].ops[t.frames[fi].pc].Kind {
	case kernel.OpWaitResv, kernel.OpEvict, kernel.OpZapPTEs, kernel.OpTLBFlush, kernel.OpReadBegin, kernel.OpReadRetry,
		kernel.OpMapPages, kernel.OpFreePages, kernel.OpUnpin, kernel.OpVMUpdate:
		return false
	}
	return true
}

func (s *sim) footprintOf(a actor) []string {
	if a.sched != "" {
		// The run_job work item reads the scheduler's queue and the
		// in-fences of the job it starts, and spawns its run_job.
		foot := []string{"sched:" + a.sched}
		s.schedNames()
		for _, name := range s.schedJobs[s.schedIdx[a.sched]] { // its jobs, in JobOrder
			js := s.jobs[name]
			if js.started {
				continue
			}
			foot = append(foot, "queue:"+js.info.Entity)
			for _, d := range js.info.Deps {
				foot = append(foot, "?fence:"+d.On)
			}
		}
		return foot
	}
	if a.t == nil {
		// An engine completes its head job: the fence signals, callbacks
		// and free_job start, the scheduler may run the next job.
		e := s.gpu.Lookup(a.engine)
		foot := []string{"engine:" + a.engine}
		if j := e.Head(); j != "" {
			foot = append(foot, "spawn:free_job("+j+")")
			foot = append(foot, s.signalFoot(s.jobs[j].info.Fence)...)
		}
		return foot
	}
	t := a.t
	fi := len(t.frames) - 1
	for fi >= 0 && t.frames[fi].pc >= len(t.frames[fi].ops) {
		fi-- // frames that will be popped first (reclaim returns)
	}
	if fi < 0 {
		return s.exitFoot(t)
	}
	f := t.frames[fi]
	if t.src != nil && fi == 0 && f.pc == 0 && t.src.Device != "" && !t.faultStarted {
		return nil // a fault handler waits for a faulting job to run
	}
	var pre []string
	if t.src != nil && fi == 0 && f.pc == 0 && t.src.Job != "" {
		// Userspace needs its in-fences published (their jobs submitted)
		// before the first step runs.
		pre = []string{}
		for _, d := range s.jobs[t.src.Job].info.Deps {
			if fi := s.p.Fences[d.On]; fi != nil && fi.Job != "" {
				pre = append(pre, "?submitted:"+fi.Job)
			}
		}
	}
	foot := s.opFoot(t, &f.ops[f.pc])
	if pre == nil || foot == nil {
		return foot
	}
	return append(pre, foot...)
}

// exitFoot is the footprint of t's exit (finish). Nobody observes a plain
// thread's exit except through what it still holds; a job's thread hands
// the job on, a worker's exit ends flush_work, a fault handler unstalls a
// job.
func (s *sim) exitFoot(t *thread) []string {
	var foot []string
	switch {
	case t.worker != "" || (t.src != nil && t.src.Device != ""):
		return nil // flush_work and stalled jobs watch these exits
	case t.role == "run_job" && t.job != "":
		// The job goes to its engine; the scheduler may start the next.
		js := s.jobs[t.job]
		foot = []string{"engine:" + s.engineOf(js), "sched:" + js.info.Scheduler}
	case t.role == "timeout" && t.job != "":
		return nil // force-completes the job on its engine
	}
	for _, h := range t.held {
		if h.inst != "" {
			foot = append(foot, "lock:"+h.inst, "resvslots:"+h.key)
		}
	}
	foot = append(foot, invalFoot(t)...)
	if foot == nil {
		foot = []string{}
	}
	return foot
}

// willRetry: read_retry o would find an invalidation since t's
// read_begin and loop back (exec.go, OpReadRetry).
func (s *sim) willRetry(t *thread, o *kernel.Op) bool {
	m, ok := t.readBegin[o.Ext().Obj]
	return ok && s.seq[o.Ext().Obj] != m.seq && m.frame == len(t.frames)-1
}

// invalFoot: invalidate_range_end (or the exit of a thread still inside
// one) lowers the invalidation count of every range t entered.
func invalFoot(t *thread) []string {
	foot := []string{}
	for _, u := range t.invalActive {
		foot = append(foot, "+inval:"+u)
	}
	return foot
}

// opFoot is the footprint of one op of t (see footprint): its kind's
// (transitions.go); nil, everything, for a kind that declares none.
//
// A kind whose footprint depends on little besides the op says what in
// its footTag, and the footprint is kept per op while that stays the
// same: the FIFO schedule asks for every step's (reclaimmemo.go), and the
// direct-reclaim body's ops run at every allocation site.
func (s *sim) opFoot(t *thread, o *kernel.Op) []string {
	k := &stepKinds[o.Kind]
	if k.foot == nil {
		return nil
	}
	if k.footTag == nil || s.freshFoot {
		return k.foot(s, t, o)
	}
	tag, ok := k.footTag(s, t, o)
	if !ok {
		return k.foot(s, t, o)
	}
	if c, hit := s.footOf[o]; hit && c.tag == tag {
		return c.foot
	}
	f := slices.Clip(k.foot(s, t, o)) // shared: an append copies
	if s.footOf == nil {
		s.footOf = map[*kernel.Op]keptFoot{}
	}
	s.footOf[o] = keptFoot{tag: tag, foot: f}
	return f
}

// keptFoot is an op's footprint and the tag it was built for (opFoot).
type keptFoot struct {
	tag  footTag
	foot []string
}
