// Package exec executes a compiled scenario on the kernel + GPU model until
// all work is done or nothing can make progress, under one or more
// deterministic schedules. It reports what only execution shows: real
// hangs with their wait-for cycle, fences that never signal, and invariant
// violations (golden rule, slot reservation, resv locking, signal order).
//
// Schedule 0 is FIFO: the oldest runnable thread runs until it blocks or
// finishes, and reclaim-capable allocations always enter direct reclaim when
// the workload applies memory pressure. Schedules 1..N-1 pick uniformly
// among runnable actors with a PCG stream seeded by (seed, schedule), so any
// reported schedule can be replayed exactly.
//
// A step costs O(log n) amortised in the number of threads: the runnable
// threads are kept in a run queue updated as threads block, wake, park,
// finish and are spawned (runq.go), never found by scanning, and no text is
// built for a step unless the events are kept (Options.Trace). What the
// explorer asks of a Machine per scheduling point is kept per thread until
// the thread steps where it depends on nothing else (footprints, releases,
// "would only block"). The number of steps is the design's: on the driver
// family it grows with the square of the scale, as every allocation site's
// direct reclaim runs every device's shrinker and notifier. The FIFO
// schedule does not take them all: a callback whose last run was quiet and
// whose state nothing has touched since is skipped, its steps counted as
// taken (reclaimmemo.go), with the same outcome, steps and findings.
package exec

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/fencecheck/fencecheck/internal/diag"
	"github.com/fencecheck/fencecheck/internal/hw"
	"github.com/fencecheck/fencecheck/internal/kernel"
	"github.com/fencecheck/fencecheck/internal/model"
	"github.com/fencecheck/fencecheck/internal/rules"
)

// Options select the schedules to run.
type Options struct {
	Schedules int    // number of schedules (default 1: FIFO only)
	Seed      uint64 // seed of the random schedules
	Only      int    // run only this schedule (for replay); -1 for all
	MaxSteps  int    // per schedule (default: proportional to the program)
	// Trace keeps every event (fencecheck trace); without it only the
	// findings are kept, so large designs run in bounded memory.
	Trace bool
	// Invariants checks the machine state after every step (property
	// tests); violations are returned in Result.Violations.
	Invariants bool
	// noReclaimMemo runs every reclaim callback of the FIFO schedule
	// (reclaimmemo.go), for the tests that compare both.
	noReclaimMemo bool
}

// Event is one step of the execution.
type Event struct {
	Seq      int       `json:"seq"`
	Thread   string    `json:"thread"`
	Context  string    `json:"context"`
	Kind     string    `json:"kind"`
	Text     string    `json:"text"`
	Pos      model.Pos `json:"pos"`
	Held     []string  `json:"held,omitempty"`
	Sections []string  `json:"sections,omitempty"`
	Engine   string    `json:"engine,omitempty"`
}

// Schedule is the outcome of one schedule.
type Schedule struct {
	Index    int               `json:"schedule"`
	Events   []Event           `json:"events"`
	Outcome  string            `json:"outcome"` // "completed", "hang", "step-limit"
	Findings []diag.Diagnostic `json:"-"`
	// Steps is how many steps the schedule took (events, kept or not).
	Steps int `json:"-"`
	// skipped counts the reclaim callbacks skipped (reclaimmemo.go).
	skipped int
}

// Result collects all schedules.
type Result struct {
	Seed      uint64
	Schedules []*Schedule
	// Findings across schedules, deduplicated (a hang found by several
	// schedules is reported once, with the first schedule that found it).
	Findings []diag.Diagnostic
	// Violations are broken state invariants (Options.Invariants): each
	// one is a bug of the executor, never of the design.
	Violations []string
}

// Run executes the program.
func Run(p *kernel.Program, opt Options) *Result {
	if opt.Schedules <= 0 {
		opt.Schedules = 1
	}
	if opt.MaxSteps <= 0 {
		opt.MaxSteps = stepBudget(p)
	}
	res := &Result{Seed: opt.Seed}
	seen := map[string]bool{}
	opsCache := map[*kernel.Thread][]kernel.Op{}
	for k := 0; k < opt.Schedules; k++ {
		if opt.Only >= 0 && k != opt.Only {
			continue
		}
		s := newSim(p, k, opt, opsCache)
		sch := s.run()
		res.Schedules = append(res.Schedules, sch)
		res.Violations = append(res.Violations, s.violations...)
		for _, d := range sch.Findings {
			key := d.Rule + "\x00" + d.Fingerprint + "\x00" + d.Message
			if d.Fingerprint != "" {
				key = d.Rule + "\x00" + d.Fingerprint
			}
			if seen[key] {
				continue
			}
			seen[key] = true
			res.Findings = append(res.Findings, d)
		}
	}
	diag.Sort(res.Findings)
	return res
}

// stepBudget bounds one schedule: every op of every thread, plus one direct
// reclaim (every shrinker and notifier) per allocation site, with a wide
// margin. It only guards against livelock; a correct design never gets near.
func stepBudget(p *kernel.Program) int {
	ops, allocs := 0, 0
	for _, t := range p.Threads {
		ops += len(t.Entry) + len(t.Ops)
		for _, o := range t.Ops {
			if o.Kind == kernel.OpAlloc || o.Kind == kernel.OpReserve {
				allocs++
			}
		}
	}
	return 100000 + 10*(ops+allocs*(len(p.Reclaim)+1))
}

type frame struct {
	ops []kernel.Op
	pc  int
	// reclaim marks a direct-reclaim frame (PF_MEMALLOC while it runs);
	// why is the allocation that entered it.
	reclaim bool
	why     string
	origin  model.Pos
	site    string // "direct reclaim entered by " + why, built once (heldSite)
	// hash is the ops' fingerprint (fingerprint.go), computed once.
	hash   [2]uint64
	hashed bool
}

type held struct {
	// key is the compiled instance identity the steps name (kernel.Op.Inst,
	// or the pseudo-lock's name); inst is the lock state it took: key
	// itself, a thread-private copy for an unpublished object, "" for a
	// pseudo-lock.
	key     string
	inst    string
	name    string // display name (class)
	mode    kernel.Mode
	ctx     string
	section bool
	fence   string
	// pos and path: the step that took it, for hang reports.
	pos  model.Pos
	path string
}

type thread struct {
	id      int
	ord     int // how many threads of this name exist, this one included
	name    string
	context string
	atomic  bool
	src     *kernel.Thread
	aid     string // actorID, built once
	// ver counts the thread's steps; foot and rel keep its footprint and
	// releases for the explorer while ver is unchanged (machine.go).
	ver       uint64
	foot, rel memo
	wb        wbMemo // see wouldBlock
	frames    []*frame
	held      []held
	done      bool
	blocked   *blockOn
	tickets   map[string]int
	ctxPC     map[string]int // frame pc after ww_acquire_init, per ctx
	scopes    map[string]int
	worker    string // root path of a queued worker
	job       string // job whose run_job this is
	role      string // "run_job", "free_job", "callback", "timeout", ""
	slow      string // lock instance to take first after a ww backoff
	// faultStarted: a fault-handler thread has seen its fault.
	faultStarted bool
	// woken: something the thread is blocked on changed (a lock was
	// released, a fence signalled) since it blocked, so it is worth
	// re-checking. parked: it waits in a wait queue and is not on the run
	// queue until woken. inRecheck: it is on the recheck list (runq.go).
	woken, parked, inRecheck bool
	watchGen                 uint32 // see watch
	// readBegin records, per userptr, where mmu_interval_read_begin ran
	// and the sequence it saw, so a failed read_retry can loop (R10).
	readBegin map[string]readMark
	// invalActive: userptrs this thread is invalidating until range_end.
	invalActive []string
}

type readMark struct {
	frame, pc, held int
	seq             int
}

type blockOn struct {
	kind  string // "lock", "fence", "work", "invalidation"
	inst  string
	fence string
	op    *kernel.Op // the op it retries (shared with its frame: ops are never written)
}

type lockState struct {
	writer  int
	readers map[int]int
	ticket  int // ww ticket of the writer (0 = none)
	// watch: woken waiters that could take it when last checked (runq.go).
	watch []watch
	ver   uint64 // bumped at every take and drop (wouldBlock)
}

type jobState struct {
	info      *kernel.JobInfo
	order     int // index in Program.JobOrder
	submitted bool
	started   bool // run_job thread spawned
	onEngine  bool
	done      bool
	timedOut  bool
	runThread *thread
}

type sim struct {
	p        *kernel.Program
	k        int
	opt      Options
	rng      *rand.Rand
	threads  []*thread
	locks    map[string]*lockState
	fences   map[string]bool
	lastSeq  map[string]int64
	resv     map[string][]resvEntry
	slots    map[string]int
	jobs     map[string]*jobState
	gpu      *hw.Engines    // the engines, their queues, the faults in progress
	mmu      *hw.MMU        // the GPU's page tables and TLBs, and the pages
	inval    map[string]int // userptr -> running invalidations
	unmapped map[string]bool
	seq      map[string]int // userptr -> notifier sequence
	pressure bool
	ticket   int
	events   []Event
	findings []diag.Diagnostic
	reported map[string]bool
	// The run queue (runq.go): sure holds the ids of threads that can run
	// until they next step, recheck the woken or conditionally blocked
	// ones; otherWaiters the wait queues of flush_work, invalidations,
	// in-fences and GPU faults; busy the engines with a queued job, sorted;
	sure         idSet
	recheck      []*thread
	otherWaiters map[waitKey][]*thread
	watchers     map[waitKey][]watch
	busy         []string
	// usedBy: object -> jobs that access it.
	usedBy map[string][]string
	// lockWaiters and fenceWaiters are the wait queues (by lock instance
	// and fence).
	lockWaiters  map[string][]*thread
	fenceWaiters map[string][]*thread
	// reclaimed marks allocation sites that already entered reclaim.
	reclaimed map[model.Pos]bool
	steps     int // events so far (also when not tracing)
	// entityQ is each entity's push order; seqno is each armed job fence's
	// sequence number, assigned at drm_sched_job_arm (K3).
	entityQ  map[string][]string
	seqno    map[string]int64
	entitySq map[string]int64
	// explore: every runnable actor is a candidate and reclaim-capable
	// allocations always enter reclaim (the explorer drives the choice).
	// label/labelID name the explored interleaving in messages.
	explore bool
	// ticketsCompared: see ticketsCompared (exploration only).
	ticketsCompared bool
	nameCount       map[string]int
	scheds          []string
	schedIdx        map[string]int
	schedJobs       [][]string // per scheduler (schedNames order), its jobs in JobOrder
	readyCache      []readyMemo
	jobsVer         uint64
	opsCache        map[*kernel.Thread][]kernel.Op
	// pinnedFree: unmapped ranges whose pages a pin keeps until unpin.
	pinnedFree map[string]bool
	// ptSites: the step that last wrote or zapped an object's PTEs in a
	// VM (gpu.go), for golden-rule reports.
	ptSites        map[ptKey]*diag.Step
	refCount       map[string]int
	label, labelID string
	actBuf         []actor
	// violations and everSignalled serve checkInvariants.
	violations    []string
	everSignalled map[string]bool
	// iter is the scheduling iteration (the step limit counts them).
	iter int
	// Skipping quiet reclaim callbacks (reclaimmemo.go): the callbacks,
	// the callback starting at each op of the reclaim body, the run being
	// recorded, how many quiet runs are valid and their footprints by key,
	// and stir, which counts wake-ups and re-checks of other threads.
	memoOn    bool
	parts     []reclaimPart
	partAt    []int32
	memo      memoRun
	memoValid int
	memoIdx   map[string][]memoRef
	stir      int
	skipped   int
	// pendingJobs: the JobOrder indices of the jobs submitted and not
	// started, sorted; runningJobs: the started ones whose run_job may
	// still run (readyJobs).
	pendingJobs []int
	runningJobs []*jobState
	// footOf keeps footprints per op while their tag holds (opFoot);
	// freshFoot turns that off (tests compare kept and fresh ones).
	footOf    map[*kernel.Op]keptFoot
	freshFoot bool
	// composites: per fence, the arrays and chain links it is part of
	// (compositesOf).
	composites map[string][]string
}

type resvEntry struct {
	fence, usage string
}

func newSim(p *kernel.Program, k int, opt Options, opsCache map[*kernel.Thread][]kernel.Op) *sim {
	s := &sim{p: p, k: k, opt: opt, locks: map[string]*lockState{}, fences: map[string]bool{},
		lastSeq: map[string]int64{}, resv: map[string][]resvEntry{}, slots: map[string]int{},
		jobs: map[string]*jobState{}, gpu: hw.NewEngines(), mmu: hw.NewMMU(),
		inval: map[string]int{}, seq: map[string]int{}, reported: map[string]bool{},
		entityQ: map[string][]string{}, seqno: map[string]int64{}, entitySq: map[string]int64{}, unmapped: map[string]bool{},
		reclaimed: map[model.Pos]bool{}, lockWaiters: map[string][]*thread{}, fenceWaiters: map[string][]*thread{},
		opsCache: opsCache, otherWaiters: map[waitKey][]*thread{}, watchers: map[waitKey][]watch{}}
	s.indexUses()
	for _, name := range p.FenceOrder {
		if fi := p.Fences[name]; fi.Job == "" {
			s.seqno[name] = fi.Seqno
		}
	}
	if k > 0 {
		s.rng = rand.New(rand.NewPCG(opt.Seed, uint64(k)))
	}
	for i, name := range p.JobOrder {
		s.jobs[name] = &jobState{info: p.Jobs[name], order: i}
	}
	for _, a := range p.Scenario.File.Workload {
		if a.MemoryPressure.V {
			s.pressure = true
		}
	}
	for _, t := range p.Threads {
		// Priming functions assert an order for lockdep; they are not code
		// that runs concurrently with the driver (case 09).
		if t.Workload && !t.Primed {
			s.spawn(t, "")
		}
	}
	s.markWorkloadWorkers()
	return s
}

func (s *sim) spawn(t *kernel.Thread, role string) *thread {
	if s.nameCount == nil {
		s.nameCount = map[string]int{}
	}
	s.nameCount[t.Name]++
	th := &thread{id: len(s.threads), ord: s.nameCount[t.Name], name: t.Name, context: t.Context, atomic: t.Atomic, src: t,
		tickets: map[string]int{}, ctxPC: map[string]int{}, scopes: map[string]int{}, role: role}
	th.frames = []*frame{{ops: s.threadOps(t)}}
	s.threads = append(s.threads, th)
	s.settle(th)
	return th
}

// threadOps is the thread's entry state as ops, then its ops. Built once
// per thread and shared by every schedule (nothing writes into a frame's
// ops; a ww backoff builds a new slice).
func (s *sim) threadOps(t *kernel.Thread) []kernel.Op {
	if ops, ok := s.opsCache[t]; ok {
		return ops
	}
	if len(t.Entry) == 0 {
		return t.Ops // nothing to prepend, and nothing writes into it
	}
	ops := make([]kernel.Op, 0, len(t.Entry)+len(t.Ops))
	for _, h := range t.Entry {
		if h.Section {
			o := kernel.Op{Kind: kernel.OpBeginSig, Pos: h.Pos, Text: h.Why, Synthetic: true}
			o.Mut().Fence = h.Lock
			ops = append(ops, o)
		} else {
			ops = append(ops, kernel.Op{Kind: kernel.OpAcquire, Lock: h.Lock, Mode: h.Mode, Pos: h.Pos, Text: h.Why, Synthetic: true})
		}
	}
	ops = append(ops, t.Ops...)
	s.opsCache[t] = ops
	return ops
}

func (s *sim) event(t *thread, kind, text string, pos model.Pos) {
	s.steps++
	if !s.opt.Trace {
		return
	}
	ev := Event{Seq: len(s.events) + 1, Kind: kind, Text: text, Pos: pos}
	if t != nil {
		ev.Thread, ev.Context = t.name, t.context
		for _, h := range t.held {
			name := h.name
			if strings.HasPrefix(h.key, "resv:") {
				name = "resv(" + strings.TrimPrefix(h.key, "resv:") + ")"
			}
			switch {
			case h.section:
				ev.Sections = append(ev.Sections, h.fence)
			case h.mode == kernel.Write:
				ev.Held = append(ev.Held, name)
			default:
				ev.Held = append(ev.Held, name+"(read)")
			}
		}
	}
	s.events = append(s.events, ev)
}

// event2 is event(t, kind, text+suffix, pos), concatenating only when
// the events are kept.
func (s *sim) event2(t *thread, kind, text, suffix string, pos model.Pos) {
	if !s.opt.Trace {
		s.steps++
		return
	}
	s.event(t, kind, text+suffix, pos)
}

func (s *sim) finding(rule string, pos model.Pos, msg string, chain []diag.Step, hint string) {
	key := rule + "\x00" + pos.String() + "\x00" + msg
	if s.reported[key] {
		return
	}
	s.reported[key] = true
	s.findings = append(s.findings, diag.Diagnostic{File: s.p.File, Pos: pos, Rule: rule, Severity: rules.SeverityOf(rule),
		Message: msg, Chain: chain, Hint: hint, Mode: "exec"})
}

// actor is something that can take the next step: a thread, or an engine
// completing its head job.
type actor struct {
	t      *thread
	engine string
	// sched: the scheduler's run_job work item starts its next ready job
	// (only when exploring, see readyJobs).
	sched string
}

func (s *sim) runnable(t *thread) bool {
	if t.done {
		return false
	}
	if t.blocked == nil {
		return true
	}
	b := t.blocked
	switch b.kind {
	case "lock":
		if !t.woken {
			return false
		}
		if s.canLock(t, b.inst, b.op.Mode) {
			return true
		}
		if s.mustDie(t, b.inst, b.op) {
			// The lock passed to an older acquire context while t slept
			// on it: Wait-Die wakes the younger waiter so that it backs
			// off (kernel/locking/ww_mutex.h, __ww_mutex_check_waiters ->
			// __ww_mutex_die); acquire() does the -EDEADLK dance.
			return true
		}
		// Another thread took the lock first: wait for the next release.
		s.block(t, b)
		return false
	case "fence":
		return t.woken && s.fences[b.fence]
	case "work":
		for _, o := range s.threads {
			if o.worker == b.inst && !o.done {
				return false
			}
		}
		return true
	case "invalidation":
		return s.inval[b.inst] == 0
	case "published":
		return s.published(b.fence)
	case "gpu-fault":
		return s.faultingJobRunning(b.inst) || !s.faultingJobPending(b.inst)
	}
	return true
}

// block parks t on what it waits for; a lock or fence wait is re-checked
// only once that lock is released or that fence signals.
func (s *sim) block(t *thread, b *blockOn) {
	t.blocked, t.woken = b, false
	switch b.kind {
	case "lock":
		s.lockWaiters[b.inst] = append(s.lockWaiters[b.inst], t)
		t.parked = true
	case "fence":
		s.fenceWaiters[b.fence] = append(s.fenceWaiters[b.fence], t)
		t.parked = true
	}
}

// actors lists who may take the next step: threads by creation order (for
// FIFO only the oldest), then (exploring) schedulers, then engines by
// name. The slice is reused from step to step (it is read before the next
// call).
func (s *sim) actors() []actor {
	out := s.actBuf[:0]
	s.drain()
	fifo := s.rng == nil && !s.explore
	if fifo {
		// FIFO: the oldest runnable thread is the only candidate.
		if s.sure.n > 0 {
			out = append(out, actor{t: s.threads[s.sure.first()]})
		}
	} else {
		// Every runnable thread, by creation order.
		for id, n := 0, 0; n < s.sure.n; id++ {
			if s.sure.in[id] {
				out = append(out, actor{t: s.threads[id]})
				n++
			}
		}
	}
	if s.explore {
		for i, sc := range s.schedNames() {
			if j, _ := s.nextReadyAt(i); j != "" {
				out = append(out, actor{sched: sc})
			}
		}
	}
	if !fifo || len(out) == 0 {
		out = s.appendEngines(out)
	}
	s.actBuf = out
	return out
}

// appendEngines appends the engines that can complete their head job, by
// name.
func (s *sim) appendEngines(out []actor) []actor {
	for _, n := range s.gpu.Busy() {
		if j := s.gpu.Lookup(n).Head(); j != "" && !s.jobs[j].info.Hang && !s.faultPending(j) {
			out = append(out, actor{engine: n})
		}
	}
	return out
}

// pick chooses the next actor of a schedule: FIFO's oldest runnable
// thread, or one drawn uniformly (in the order actors lists them) without
// listing them all.
func (s *sim) pick() (actor, bool) {
	if s.rng == nil {
		acts := s.actors()
		if len(acts) == 0 {
			return actor{}, false
		}
		return acts[0], true
	}
	s.drain()
	engs := s.appendEngines(s.actBuf[:0])
	s.actBuf = engs
	threads := s.sure.n
	n := threads + len(engs)
	if n == 0 {
		return actor{}, false
	}
	k := s.rng.IntN(n)
	if k < threads {
		return actor{t: s.threads[s.sure.kth(k)]}, true
	}
	return engs[k-threads], true
}

func (s *sim) run() *Schedule {
	sch := &Schedule{Index: s.k, Outcome: "completed"}
	s.memoStart()
	for s.iter = 0; ; s.iter++ {
		if s.iter >= s.opt.MaxSteps {
			sch.Outcome = "step-limit"
			s.finding(rules.Hang, model.Pos{Line: 1, Col: 1}, fmt.Sprintf("execution did not finish within %d steps (%s)", s.opt.MaxSteps, s.where()), nil, "")
			break
		}
		a, ok := s.pick()
		if !ok {
			if s.fallback() {
				if s.memoOn {
					s.memoDirtyAll()
				}
				continue
			}
			if s.allDone() {
				break
			}
			sch.Outcome = "hang"
			s.reportHang()
			break
		}
		if s.memoOn {
			if a.t != nil {
				s.memoSkip(a.t)
			}
			s.memoBefore(a)
		}
		if a.t != nil {
			a.t.blocked = nil
			s.stepThread(a.t)
			if s.memoOn {
				s.memoAfter(a.t)
			}
		} else {
			s.completeHead(a.engine, false)
		}
		if s.opt.Invariants {
			s.checkInvariants(s.iter)
		}
	}
	s.liveness()
	sch.Events, sch.Steps, sch.skipped = s.events, s.steps, s.skipped
	diag.Sort(s.findings)
	sch.Findings = s.findings
	return sch
}

func (s *sim) allDone() bool {
	for _, t := range s.threads {
		if !t.done {
			return false
		}
	}
	return true
}

// stepThread executes the thread's next op and files the thread on the run
// queue according to the outcome.
func (s *sim) stepThread(t *thread) {
	t.ver++
	s.stepOp(t)
	s.settle(t)
}

func (s *sim) stepOp(t *thread) {
	for len(t.frames) > 0 {
		f := t.frames[len(t.frames)-1]
		if f.pc < len(f.ops) {
			break
		}
		t.frames = t.frames[:len(t.frames)-1]
		if f.reclaim {
			s.event(t, "reclaim", "direct reclaim returns", model.Pos{})
		}
	}
	if len(t.frames) == 0 {
		s.finish(t)
		return
	}
	f := t.frames[len(t.frames)-1]
	if t.src != nil && t.src.Device != "" && len(t.frames) == 1 && f.pc == 0 && !t.faultStarted {
		if !s.faultingJobRunning(t.src.Device) {
			if !s.faultingJobPending(t.src.Device) {
				// Every job that could fault has completed: no fault.
				s.event(t, "fault", "no job is executing on "+t.src.Device+": the fault does not happen in this schedule", t.src.Pos)
				t.frames = nil
				s.finish(t)
				return
			}
			t.blocked = &blockOn{kind: "gpu-fault", inst: t.src.Device, op: &kernel.Op{Pos: t.src.Pos, Text: "waiting for a job to fault on " + t.src.Device}}
			return
		}
		t.faultStarted = true
		s.gpu.FaultStart(t.src.Device)
		s.event(t, "fault", "GPU page fault on "+t.src.Device+": the faulting job stalls until it is handled", t.src.Pos)
	}
	if t.src != nil && t.src.Job != "" && len(t.frames) == 1 && f.pc == 0 {
		// Userspace can only pass in-fences it already holds. (Entity order
		// is not an in-fence; the executor tracks the FIFO itself.)
		for _, d := range s.jobs[t.src.Job].info.Deps {
			if d.Kind != "entity-order" && !s.published(d.On) {
				t.blocked = &blockOn{kind: "published", fence: d.On, op: &kernel.Op{Pos: d.Pos, Text: "waiting for userspace to obtain " + d.On}}
				return
			}
		}
	}
	if s.exec(t, f, &f.ops[f.pc]) {
		f.pc++
	}
}

func (s *sim) finish(t *thread) {
	s.jobsChanged() // a run_job returning frees its scheduler
	if t.faultStarted && !t.done {
		s.gpu.FaultEnd(t.src.Device)
	}
	t.done = true
	if t.worker != "" {
		s.changed("work", t.worker) // flush_work waits for this
	}
	// A task that returns releases nothing automatically in the kernel; the
	// model releases what is left so one buggy path does not wedge others,
	// after saying so.
	for i := len(t.held) - 1; i >= 0; i-- {
		h := t.held[i]
		if h.inst != "" {
			s.drop(t, h.inst)
		}
	}
	t.held = nil
	s.event(t, "exit", "returns", model.Pos{})
	if t.role == "run_job" && t.job != "" {
		js := s.jobs[t.job]
		js.onEngine = true
		s.changed("fault", js.info.Device) // a fault may come now
		e := s.engineOf(js)
		s.gpu.Push(e, t.job, js.info.Duration)
		s.event(t, "hw", fmt.Sprintf("%s queued on %s", t.job, e), js.info.Pos)
		s.readyJobs()
	}
	if t.role == "timeout" && t.job != "" {
		js := s.jobs[t.job]
		s.completeHead(s.engineOf(js), true)
	}
}

// exec runs one op (its kind's transition, transitions.go); it returns
// false if the thread blocked (the op will be retried when it is runnable
// again) or moved to another frame.
func (s *sim) exec(t *thread, f *frame, o *kernel.Op) bool {
	if k := &stepKinds[o.Kind]; k.run != nil {
		return k.run(s, t, f, o)
	}
	s.event(t, "step", o.Text, o.Pos)
	return true
}
