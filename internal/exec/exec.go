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
package exec

import (
	"fmt"
	"math/rand/v2"
	"slices"
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
	for k := 0; k < opt.Schedules; k++ {
		if opt.Only >= 0 && k != opt.Only {
			continue
		}
		s := newSim(p, k, opt)
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
}

type thread struct {
	id      int
	name    string
	context string
	atomic  bool
	src     *kernel.Thread
	frames  []*frame
	held    []held
	done    bool
	blocked *blockOn
	tickets map[string]int
	ctxPC   map[string]int // frame pc after ww_acquire_init, per ctx
	scopes  map[string]int
	worker  string // root path of a queued worker
	job     string // job whose run_job this is
	role    string // "run_job", "free_job", "callback", "timeout", ""
	slow    string // lock instance to take first after a ww backoff
	// faultStarted: a fault-handler thread has seen its fault.
	faultStarted bool
	// woken: something the thread is blocked on changed (a lock was
	// released, a fence signalled) since it blocked, so it is worth
	// re-checking. parked: it waits in a lock or fence queue and is not on
	// the scan list until woken.
	woken, parked bool
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
	op    kernel.Op
}

type lockState struct {
	writer  int
	readers map[int]int
	ticket  int // ww ticket of the writer (0 = none)
}

type jobState struct {
	info      *kernel.JobInfo
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
	engines  map[string]*hw.Engine
	vms      map[string]*hw.VM
	mem      *hw.Memory
	inval    map[string]int // userptr -> running invalidations
	unmapped map[string]bool
	seq      map[string]int // userptr -> notifier sequence
	pressure bool
	ticket   int
	events   []Event
	findings []diag.Diagnostic
	reported map[string]bool
	live     []*thread // threads not yet done, in creation order
	// engineNames and vmList are the engines' and VMs' names, sorted.
	engineNames, vmList []string
	// mappedIn: object -> VMs whose page tables ever mapped it (sorted);
	// usedBy: object -> jobs that access it.
	mappedIn map[string][]string
	usedBy   map[string][]string
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
	// violations and everSignalled serve checkInvariants.
	violations    []string
	everSignalled map[string]bool
}

type resvEntry struct {
	fence, usage string
}

func newSim(p *kernel.Program, k int, opt Options) *sim {
	s := &sim{p: p, k: k, opt: opt, locks: map[string]*lockState{}, fences: map[string]bool{},
		lastSeq: map[string]int64{}, resv: map[string][]resvEntry{}, slots: map[string]int{},
		jobs: map[string]*jobState{}, engines: map[string]*hw.Engine{}, vms: map[string]*hw.VM{},
		mem: hw.NewMemory(), inval: map[string]int{}, seq: map[string]int{}, reported: map[string]bool{},
		entityQ: map[string][]string{}, seqno: map[string]int64{}, entitySq: map[string]int64{}, unmapped: map[string]bool{},
		reclaimed: map[model.Pos]bool{}, lockWaiters: map[string][]*thread{}, fenceWaiters: map[string][]*thread{},
		mappedIn: map[string][]string{}, everSignalled: map[string]bool{}}
	s.indexUses()
	for _, name := range p.FenceOrder {
		if fi := p.Fences[name]; fi.Job == "" {
			s.seqno[name] = fi.Seqno
		}
	}
	if k > 0 {
		s.rng = rand.New(rand.NewPCG(opt.Seed, uint64(k)))
	}
	for _, name := range p.JobOrder {
		s.jobs[name] = &jobState{info: p.Jobs[name]}
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
	th := &thread{id: len(s.threads), name: t.Name, context: t.Context, atomic: t.Atomic, src: t,
		tickets: map[string]int{}, ctxPC: map[string]int{}, scopes: map[string]int{}, role: role}
	ops := make([]kernel.Op, 0, len(t.Entry)+len(t.Ops))
	for _, h := range t.Entry {
		if h.Section {
			ops = append(ops, kernel.Op{Kind: kernel.OpBeginSig, Fence: h.Lock, Pos: h.Pos, Text: h.Why, Synthetic: true})
		} else {
			ops = append(ops, kernel.Op{Kind: kernel.OpAcquire, Lock: h.Lock, Mode: h.Mode, Pos: h.Pos, Text: h.Why, Synthetic: true})
		}
	}
	ops = append(ops, t.Ops...)
	th.frames = []*frame{{ops: ops}}
	s.threads = append(s.threads, th)
	s.live = append(s.live, th)
	return th
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

// wake puts the waiters back on the scan list, in creation order so that
// the FIFO schedule still finds the oldest runnable thread first.
func (s *sim) wake(waiters map[string][]*thread, key string) {
	for _, w := range waiters[key] {
		w.woken = true
		if w.parked && !w.done {
			w.parked = false
			i, _ := slices.BinarySearchFunc(s.live, w.id, func(t *thread, id int) int { return t.id - id })
			if i >= len(s.live) || s.live[i] != w {
				s.live = slices.Insert(s.live, i, w)
			}
		}
	}
	delete(waiters, key)
}

// published says whether userspace can hold the fence yet: a job's fence
// exists once the job is armed; other fences exist from the start.
func (s *sim) published(fence string) bool {
	fi := s.p.Fences[fence]
	if fi == nil || fi.Job == "" {
		return true
	}
	return s.jobs[fi.Job].submitted
}

func (s *sim) actors() []actor {
	var out []actor
	// Drop finished and parked threads from the scan list, keeping
	// creation order; parked threads come back when woken.
	live := s.live[:0]
	for _, t := range s.live {
		if !t.done && !t.parked {
			live = append(live, t)
		}
	}
	s.live = live
	for _, t := range s.live {
		if s.runnable(t) {
			out = append(out, actor{t: t})
			if s.rng == nil {
				break // FIFO: the oldest runnable thread is the only candidate
			}
		}
	}
	if s.rng == nil && len(out) > 0 {
		return out
	}
	for _, n := range s.engineNames {
		e := s.engines[n]
		if j := e.Head(); j != "" && !s.jobs[j].info.Hang && !s.faultPending(j) {
			out = append(out, actor{engine: n})
		}
	}
	return out
}

func (s *sim) run() *Schedule {
	sch := &Schedule{Index: s.k, Outcome: "completed"}
	for step := 0; ; step++ {
		if step >= s.opt.MaxSteps {
			sch.Outcome = "step-limit"
			s.finding(rules.Hang, model.Pos{Line: 1, Col: 1}, fmt.Sprintf("execution did not finish within %d steps (schedule %d)", s.opt.MaxSteps, s.k), nil, "")
			break
		}
		acts := s.actors()
		if len(acts) == 0 {
			if s.fallback() {
				continue
			}
			if s.allDone() {
				break
			}
			sch.Outcome = "hang"
			s.reportHang()
			break
		}
		var a actor
		if s.rng == nil {
			a = acts[0]
		} else {
			a = acts[s.rng.IntN(len(acts))]
		}
		if a.t != nil {
			a.t.blocked = nil
			s.stepThread(a.t)
		} else {
			s.completeHead(a.engine, false)
		}
		if s.opt.Invariants {
			s.checkInvariants(step)
		}
	}
	s.liveness()
	sch.Events = s.events
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

// faultingJobRunning: a GPU page fault comes from a job executing on the
// device.
func (s *sim) faultingJobRunning(dev string) bool {
	for _, name := range s.p.JobOrder {
		js := s.jobs[name]
		if js.info.Faults && js.info.Device == dev && js.onEngine && !js.done {
			return true
		}
	}
	return false
}

// faultingJobPending: some job that faults on the device has not completed
// yet (so a fault may still come).
func (s *sim) faultingJobPending(dev string) bool {
	for _, name := range s.p.JobOrder {
		js := s.jobs[name]
		if js.info.Faults && js.info.Device == dev && !js.done {
			return true
		}
	}
	return false
}

// faultPending: a job that touches objects through recoverable page faults
// stalls while a fault handler of its device is still running (R19, seed
// 004).
func (s *sim) faultPending(job string) bool {
	js := s.jobs[job]
	if !js.info.Faults {
		return false
	}
	for _, t := range s.threads {
		if !t.done && t.faultStarted && t.src.Device == js.info.Device {
			return true
		}
	}
	return false
}

// fallback runs what only happens when nothing else can: a hung job's
// timeout fires (R17), or a foreign fence is signalled by its driver.
func (s *sim) fallback() bool {
	for _, n := range s.engineNames {
		e := s.engines[n]
		j := e.Head()
		if j == "" {
			continue
		}
		js := s.jobs[j]
		if !js.info.Hang || js.timedOut {
			continue
		}
		js.timedOut = true
		s.event(nil, "timeout", fmt.Sprintf("job %s timed out on %s", j, n), js.info.Pos)
		if th := s.roleThread("timeout:" + js.info.Scheduler); th != nil {
			nt := s.spawn(th, "timeout")
			nt.job = j
		} else {
			// No timedout_job: nothing recovers the engine.
			s.event(nil, "stuck", fmt.Sprintf("no timedout_job for scheduler %s: %s stays on the engine", js.info.Scheduler, j), js.info.Pos)
		}
		return true
	}
	for _, name := range s.p.FenceOrder {
		fi := s.p.Fences[name]
		if fi.Foreign && !fi.Indefinite && !s.fences[name] {
			s.signal(nil, name, fi.Pos, "the foreign driver signals "+name)
			return true
		}
	}
	return false
}

func (s *sim) roleThread(trigger string) *kernel.Thread {
	for _, t := range s.p.Threads {
		if t.Trigger == trigger {
			return t
		}
	}
	return nil
}

func (s *sim) engineOf(j *jobState) *hw.Engine {
	name := j.info.Engine
	if name == "" {
		name = "engine(" + j.info.Entity + ")"
	}
	e := s.engines[name]
	if e == nil {
		e = &hw.Engine{Name: name}
		s.engines[name] = e
		s.engineNames = insertSorted(s.engineNames, name)
	}
	return e
}

// completeHead completes the engine's head job: the hardware fence signals
// from the completion interrupt (R16), then callbacks and free_job run.
func (s *sim) completeHead(engine string, forced bool) {
	e := s.engines[engine]
	j := e.Pop(func(job string) int64 { return s.jobs[job].info.Duration })
	if j == "" {
		return
	}
	js := s.jobs[j]
	js.done = true
	irq := &thread{name: "irq(" + engine + ")", context: model.CtxIRQ, atomic: true}
	why := "hardware completes " + j
	if forced {
		why = "reset force-completes " + j + " (R17)"
	}
	s.signal(irq, js.info.Fence, js.info.Pos, why)
	if th := s.roleThread("job-free:" + j); th != nil {
		s.spawn(th, "free_job")
	}
}

// signal signals a fence, checking per-context order (R14), and starts the
// fence's callbacks.
func (s *sim) signal(t *thread, fence string, pos model.Pos, why string) {
	if s.fences[fence] {
		return
	}
	fi := s.p.Fences[fence]
	if sq, ok := s.seqno[fence]; fi != nil && ok {
		for _, name := range s.p.FenceOrder {
			o := s.p.Fences[name]
			osq, armed := s.seqno[name]
			if armed && o.Context == fi.Context && osq < sq && !s.fences[name] && name != fence {
				s.finding(rules.OutOfOrderSignal, pos, fmt.Sprintf("%s (context %s, seqno %d) signals before %s (seqno %d) of the same context (R14)", fence, fi.Context, sq, name, osq),
					[]diag.Step{{File: s.p.File, Pos: pos, Message: why}, {File: s.p.File, Pos: o.Pos, Message: name + " declared here, still unsignalled"}},
					"Signal fences of one context in seqno order, or give independent work its own context.")
			}
		}
	}
	s.fences[fence] = true
	s.wake(s.fenceWaiters, fence)
	s.event(t, "signal", why+": dma_fence_signal("+fence+")", pos)
	if th := s.roleThread("fence-cb:" + fence); th != nil {
		s.spawn(th, "callback")
	}
	s.signalComposites(t)
	s.readyJobs()
}

// readyJobs starts run_job for every submitted job whose dependencies have
// all signalled (drm_sched resolves dependencies before run_job, K8).
func (s *sim) readyJobs() {
	busy := map[string]bool{} // schedulers whose run_job is running
	for _, js := range s.jobs {
		if js.runThread != nil && !js.runThread.done {
			busy[js.info.Scheduler] = true
		}
	}
	for _, name := range s.p.JobOrder {
		js := s.jobs[name]
		if !js.submitted || js.started {
			continue
		}
		ready := true
		for _, d := range js.info.Deps {
			if d.Kind == "entity-order" {
				continue // enforced below from the real push order
			}
			if !s.fences[d.On] {
				ready = false
				break
			}
		}
		// The entity is a FIFO, and the scheduler calls run_job from one
		// ordered work item: one run_job at a time (K8).
		for _, prev := range s.entityQ[js.info.Entity] {
			if prev == name {
				break
			}
			if !s.jobs[prev].started {
				ready = false
			}
		}
		if js.info.Scheduler != "" && busy[js.info.Scheduler] {
			ready = false
		}
		if !ready {
			continue
		}
		js.started = true
		busy[js.info.Scheduler] = true
		th := s.roleThread("job-run:" + name)
		if th == nil {
			th = &kernel.Thread{Name: "run_job(" + name + ")", Context: model.CtxRunJob, Pos: js.info.Pos}
		}
		nt := s.spawn(th, "run_job")
		nt.job = name
		js.runThread = nt
	}
}

func (s *sim) isReal(o kernel.Op) bool {
	if o.Obj != "" {
		return true
	}
	switch o.Lock {
	case kernel.MmapLock, kernel.IMmapRwsem:
		return true
	}
	switch s.p.LockKind(o.Lock) {
	case "mutex", "spinlock", "rwsem", "rwlock", "ww_mutex", "srcu", "semaphore":
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
func keyOf(o kernel.Op) string {
	if o.Inst != "" {
		return o.Inst
	}
	return o.Lock
}

// mustDie: under Wait-Die a younger acquire context that finds the lock
// held by an older one backs off with -EDEADLK (R23), unless this is the
// slow relock of the contended lock itself.
func (s *sim) mustDie(t *thread, inst string, o kernel.Op) bool {
	l := s.locks[inst]
	tk := t.tickets[o.Ctx]
	return o.Ctx != "" && l != nil && l.ticket != 0 && tk > l.ticket && t.slow != inst
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

func (s *sim) take(t *thread, inst string, mode kernel.Mode, ticket int) {
	l := s.locks[inst]
	if l == nil {
		l = &lockState{writer: -1, readers: map[int]int{}}
		s.locks[inst] = l
	}
	if mode == kernel.Write {
		l.writer, l.ticket = t.id, ticket
	} else {
		l.readers[t.id]++
	}
}

func (s *sim) drop(t *thread, inst string) {
	l := s.locks[inst]
	if l == nil {
		return
	}
	s.wake(s.lockWaiters, inst)
	if l.writer == t.id {
		l.writer, l.ticket = -1, 0
	} else if l.readers[t.id] > 0 {
		l.readers[t.id]--
		if l.readers[t.id] == 0 {
			delete(l.readers, t.id)
		}
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

// stepThread executes the thread's next op.
func (s *sim) stepThread(t *thread) {
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
			t.blocked = &blockOn{kind: "gpu-fault", inst: t.src.Device, op: kernel.Op{Pos: t.src.Pos, Text: "waiting for a job to fault on " + t.src.Device}}
			return
		}
		t.faultStarted = true
		s.event(t, "fault", "GPU page fault on "+t.src.Device+": the faulting job stalls until it is handled", t.src.Pos)
	}
	if t.src != nil && t.src.Job != "" && len(t.frames) == 1 && f.pc == 0 {
		// Userspace can only pass in-fences it already holds. (Entity order
		// is not an in-fence; the executor tracks the FIFO itself.)
		for _, d := range s.jobs[t.src.Job].info.Deps {
			if d.Kind != "entity-order" && !s.published(d.On) {
				t.blocked = &blockOn{kind: "published", fence: d.On, op: kernel.Op{Pos: d.Pos, Text: "waiting for userspace to obtain " + d.On}}
				return
			}
		}
	}
	o := f.ops[f.pc]
	if s.exec(t, f, o) {
		f.pc++
	}
}

func (s *sim) finish(t *thread) {
	t.done = true
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
		e := s.engineOf(js)
		e.Push(t.job, js.info.Duration)
		s.event(t, "hw", fmt.Sprintf("%s queued on %s", t.job, e.Name), js.info.Pos)
		s.readyJobs()
	}
	if t.role == "timeout" && t.job != "" {
		js := s.jobs[t.job]
		s.completeHead(s.engineOf(js).Name, true)
	}
}

// exec runs one op; it returns false if the thread blocked (the op will be
// retried when it is runnable again).
func (s *sim) exec(t *thread, f *frame, o kernel.Op) bool {
	switch o.Kind {
	case kernel.OpAcquire:
		return s.acquire(t, f, o)
	case kernel.OpRelease:
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
				}
				t.invalActive = nil
			}
			t.held = append(t.held[:i], t.held[i+1:]...)
		}
		s.released(t, key, before)
		s.event(t, "unlock", o.Text, o.Pos)
	case kernel.OpMight:
		s.event(t, "might_lock", o.Text, o.Pos)
	case kernel.OpAlloc:
		s.alloc(t, o)
	case kernel.OpReserve:
		if !s.holds(t, "resv:"+o.Obj) {
			s.finding(rules.ResvNotLocked, o.Pos, fmt.Sprintf("%s without holding %s's dma_resv lock (thread %s)", o.Text, o.Obj, t.name),
				[]diag.Step{{File: s.p.File, Pos: o.Pos, Path: o.InPath, Context: t.context, Message: o.Text}}, "Lock the object before reserving slots (R13).")
		}
		s.slots[o.Obj] += o.Count
		s.event(t, "reserve", o.Text, o.Pos)
		a := o
		a.GFP, _ = model.ParseGFP("GFP_KERNEL")
		s.alloc(t, a)
	case kernel.OpScopeSave:
		t.scopes[o.Scope]++
		s.event(t, "scope", o.Text, o.Pos)
	case kernel.OpScopeRest:
		t.scopes[o.Scope]--
		s.event(t, "scope", o.Text, o.Pos)
	case kernel.OpWait:
		if !s.fences[o.Fence] {
			s.block(t, &blockOn{kind: "fence", fence: o.Fence, op: o})
			return false
		}
		s.event(t, "wait", o.Text+" (signalled)", o.Pos)
	case kernel.OpWaitResv, kernel.OpEvict:
		usage := o.Usage
		if o.Kind == kernel.OpEvict {
			usage = "BOOKKEEP"
		}
		for _, e := range s.resv[o.Obj] {
			if usageRank(e.usage) <= usageRank(usage) && !s.fences[e.fence] {
				s.block(t, &blockOn{kind: "fence", fence: e.fence, op: o})
				return false
			}
		}
		s.event(t, "wait", o.Text+" (all signalled)", o.Pos)
		if o.Kind == kernel.OpEvict {
			s.gpuMayReach(t, o, o.Buffer, "evicting "+o.Buffer)
		}
	case kernel.OpSignal:
		s.signal(t, o.Fence, o.Pos, o.Text)
	case kernel.OpBeginSig:
		t.held = append(t.held, held{name: o.Fence, section: true, fence: o.Fence, mode: kernel.Read})
		s.event(t, "begin_signalling", o.Text, o.Pos)
	case kernel.OpEndSig:
		for i := len(t.held) - 1; i >= 0; i-- {
			if t.held[i].section && t.held[i].fence == o.Fence {
				t.held = append(t.held[:i], t.held[i+1:]...)
				break
			}
		}
		s.event(t, "end_signalling", o.Text, o.Pos)
	case kernel.OpWWInit:
		s.ticket++
		t.tickets[o.Ctx] = s.ticket
		t.ctxPC[o.Ctx] = f.pc + 1
		t.held = append(t.held, held{name: kernel.WWAcquire, ctx: o.Ctx})
		s.event(t, "ww_acquire_init", o.Text, o.Pos)
	case kernel.OpWWDone:
		s.event(t, "ww_acquire_done", o.Text, o.Pos)
	case kernel.OpWWFini:
		for i := len(t.held) - 1; i >= 0; i-- {
			if t.held[i].ctx == o.Ctx {
				if t.held[i].inst != "" {
					s.drop(t, t.held[i].inst)
				}
				t.held = append(t.held[:i], t.held[i+1:]...)
			}
		}
		delete(t.tickets, o.Ctx)
		s.event(t, "ww_acquire_fini", o.Text, o.Pos)
	case kernel.OpAddFence, kernel.OpReplace:
		if !s.holds(t, "resv:"+o.Obj) {
			s.finding(rules.ResvNotLocked, o.Pos, fmt.Sprintf("%s without holding %s's dma_resv lock (thread %s)", o.Text, o.Obj, t.name),
				[]diag.Step{{File: s.p.File, Pos: o.Pos, Path: o.InPath, Context: t.context, Message: o.Text}}, "Lock the object's dma_resv around dma_resv_add_fence.")
		}
		if o.Kind == kernel.OpAddFence {
			if s.slots[o.Obj] <= 0 {
				s.finding(rules.MissingSlot, o.Pos, fmt.Sprintf("%s with no reserved slot: dma_resv_add_fence would BUG() (R13)", o.Text),
					[]diag.Step{{File: s.p.File, Pos: o.Pos, Path: o.InPath, Context: t.context, Message: o.Text}},
					"Call reserve_fences on "+o.Obj+" after locking it and before the fence is added.")
			} else {
				s.slots[o.Obj]--
			}
			s.resv[o.Obj] = append(s.resv[o.Obj], resvEntry{o.Fence, o.Usage})
		} else {
			s.resv[o.Obj] = []resvEntry{{o.Fence, o.Usage}}
		}
		s.event(t, "resv", o.Text, o.Pos)
	case kernel.OpPin:
		s.mem.Pinned[o.Obj]++
		s.event(t, "pin", o.Text, o.Pos)
	case kernel.OpUnpin:
		s.mem.Pinned[o.Obj]--
		s.event(t, "unpin", o.Text, o.Pos)
	case kernel.OpMapPages:
		vm := s.vmOf(o)
		s.vm(vm).Map(o.Obj)
		if !slices.Contains(s.mappedIn[o.Obj], vm) {
			s.mappedIn[o.Obj] = insertSorted(s.mappedIn[o.Obj], vm)
		}
		s.event(t, "pte", o.Text+" (PTEs written)", o.Pos)
	case kernel.OpZapPTEs:
		if s.p.Scenario.Kinds[o.Obj] == "vm" {
			s.vm(o.Obj).Zap("")
		} else {
			for _, name := range s.mappedIn[o.Obj] {
				s.vms[name].Zap(o.Obj)
			}
		}
		s.event(t, "pte", o.Text+" (PTEs cleared; TLB not yet flushed)", o.Pos)
	case kernel.OpTLBFlush:
		if s.p.Scenario.Kinds[o.Obj] == "vm" {
			s.vm(o.Obj).Flush()
		} else {
			for _, name := range s.vmNames() {
				s.vms[name].Flush()
			}
		}
		s.event(t, "tlb", o.Text+" (TLB flushed)", o.Pos)
	case kernel.OpFreePages:
		s.gpuMayReach(t, o, o.Obj, "freeing the pages of "+o.Obj)
		s.mem.Freed[o.Obj] = true
		s.event(t, "free", o.Text, o.Pos)
	case kernel.OpMunmap:
		s.unmapped[o.Obj] = true
		s.event(t, "munmap", o.Text, o.Pos)
	case kernel.OpReadBegin:
		if s.unmapped[o.Obj] {
			// The range is gone: getting its pages fails and the ioctl
			// returns -EFAULT, releasing what it holds.
			s.event(t, "fail", o.Text+": the range is unmapped, the ioctl fails with -EFAULT", o.Pos)
			t.frames = nil
			s.finish(t)
			return false
		}
		if s.inval[o.Obj] > 0 {
			t.blocked = &blockOn{kind: "invalidation", inst: o.Obj, op: o}
			return false
		}
		if t.readBegin == nil {
			t.readBegin = map[string]readMark{}
		}
		t.readBegin[o.Obj] = readMark{frame: len(t.frames) - 1, pc: f.pc, held: len(t.held), seq: s.seq[o.Obj]}
		s.event(t, "read_begin", fmt.Sprintf("%s = seq %d", o.Text, s.seq[o.Obj]), o.Pos)
	case kernel.OpSetSeq:
		s.seq[o.Obj]++
		s.event(t, "set_seq", o.Text, o.Pos)
	case kernel.OpReadRetry:
		m, ok := t.readBegin[o.Obj]
		if ok && s.seq[o.Obj] != m.seq && m.frame == len(t.frames)-1 {
			// An invalidation ran since read_begin: drop what was taken
			// since, and go again (the HMM retry loop, K10).
			for i := len(t.held) - 1; i >= m.held; i-- {
				if t.held[i].inst != "" {
					s.drop(t, t.held[i].inst)
				}
				t.held = t.held[:i]
			}
			s.event(t, "read_retry", o.Text+": the range was invalidated, retry from read_begin", o.Pos)
			f.pc = m.pc
			return false
		}
		s.event(t, "read_retry", o.Text+" (no invalidation)", o.Pos)
	case kernel.OpVMUpdate:
		var start, end int64
		if len(o.Range) == 2 {
			start, end = o.Range[0], o.Range[1]
		}
		s.vm(o.Obj).Update(o.VMOp, start, end, o.Obj)
		s.event(t, "vm_update", o.Text, o.Pos)
	case kernel.OpSubmit:
		if js := s.jobs[o.Job]; js != nil && !js.submitted {
			js.submitted = true
			s.entityQ[js.info.Entity] = append(s.entityQ[js.info.Entity], o.Job)
			s.entitySq[js.info.Entity]++
			s.seqno[js.info.Fence] = s.entitySq[js.info.Entity]
			s.event(t, "submit", o.Text, o.Pos)
			s.readyJobs()
		}
	case kernel.OpQueueWork:
		for _, th := range s.p.Threads {
			if th.Root == o.Path && !th.Workload {
				nt := s.spawn(th, "")
				nt.worker = o.Path
				break
			}
		}
		s.event(t, "queue_work", o.Text, o.Pos)
	case kernel.OpFlushWork:
		for _, w := range s.threads {
			if w.worker == o.Path && !w.done {
				t.blocked = &blockOn{kind: "work", inst: o.Path, op: o}
				return false
			}
		}
		s.event(t, "flush_work", o.Text, o.Pos)
	default:
		s.event(t, "step", o.Text, o.Pos)
	}
	return true
}

func usageRank(u string) int {
	return map[string]int{"KERNEL": 0, "WRITE": 1, "READ": 2, "BOOKKEEP": 3}[u]
}

func (s *sim) vmNames() []string { return s.vmList }

// insertSorted adds name to a sorted slice (engines and VMs are few and
// created rarely; lookups happen every step).
func insertSorted(list []string, name string) []string {
	i, _ := slices.BinarySearch(list, name)
	return slices.Insert(list, i, name)
}

func (s *sim) vm(name string) *hw.VM {
	v := s.vms[name]
	if v == nil {
		v = hw.NewVM(name)
		s.vms[name] = v
		s.vmList = insertSorted(s.vmList, name)
	}
	return v
}

// vmOf picks the VM a mapping goes into: the step's vm:, the object's VM,
// or the object's own GPU mapping.
func (s *sim) vmOf(o kernel.Op) string {
	if o.VM != "" {
		return o.VM
	}
	f := s.p.Scenario.File
	for _, u := range f.Userptrs {
		if u.Name.V == o.Obj && u.VM.V != "" {
			return u.VM.V
		}
	}
	for _, b := range f.Buffers {
		if b.Name.V == o.Obj && b.VM.V != "" {
			return b.VM.V
		}
	}
	return "gpu-mapping(" + o.Obj + ")"
}

// gpuMayReach checks the golden rule (R20) before pages are freed or moved:
// no PTE may map them, no zap may be waiting for its TLB flush, and no
// running job that uses them may still be executing.
func (s *sim) gpuMayReach(t *thread, o kernel.Op, obj, what string) {
	for _, name := range s.mappedIn[obj] {
		if why := s.vms[name].Reachable(obj); why != "" {
			s.finding(rules.GoldenRule, o.Pos, fmt.Sprintf("%s while %s (R20)", what, why),
				[]diag.Step{{File: s.p.File, Pos: o.Pos, Path: o.InPath, Context: t.context, Message: o.Text}},
				"Zap the PTEs and complete the TLB flush before the pages go back to the allocator (R20).")
		}
	}
	for _, name := range s.usedBy[obj] {
		js := s.jobs[name]
		if !js.submitted || s.fences[js.info.Fence] {
			continue
		}
		s.finding(rules.GoldenRule, o.Pos, fmt.Sprintf("%s while job %s, which accesses it, has not completed (%s unsignalled) (R20)", what, name, js.info.Fence),
			[]diag.Step{{File: s.p.File, Pos: o.Pos, Path: o.InPath, Context: t.context, Message: o.Text},
				{File: s.p.File, Pos: js.info.Pos, Message: "job " + name + " uses " + obj}},
			"Wait for every fence of the object (including other contexts' fences) before freeing or moving it; never replace an unsignalled fence of another context (K4).")
	}
}

// indexUses records, once, which jobs access each object (a dma-buf also
// names its exported buffer), for the golden-rule check.
func (s *sim) indexUses() {
	s.usedBy = map[string][]string{}
	exported := map[string]string{}
	for _, d := range s.p.Scenario.File.DmaBufs {
		exported[d.Name.V] = d.Buffer.V
	}
	for _, j := range s.p.Scenario.File.Jobs {
		seen := map[string]bool{}
		for _, b := range j.Buffers {
			for _, obj := range []string{b.Buffer.V, exported[b.Buffer.V]} {
				if obj != "" && !seen[obj] {
					seen[obj] = true
					s.usedBy[obj] = append(s.usedBy[obj], j.Name.V)
				}
			}
		}
	}
}

// alloc enters direct reclaim when the workload applies memory pressure and
// the allocation may direct-reclaim (K11): schedule 0 always does,
// random schedules decide by coin. Reclaim runs every shrinker and notifier
// inline, with PF_MEMALLOC so it does not recurse.
func (s *sim) alloc(t *thread, o kernel.Op) {
	s.event(t, "alloc", o.Text, o.Pos)
	if !s.pressure || o.GFP&model.GFPDirectReclaim == 0 || t.scopes["noreclaim"] > 0 {
		return
	}
	for _, f := range t.frames {
		if f.reclaim {
			return
		}
	}
	if t.context == model.CtxReclaim || t.context == model.CtxShrinkScan || t.context == model.CtxShrinkCount {
		return
	}
	// Reclaim frees memory: an allocation site that has entered direct
	// reclaim once succeeds afterwards, for every thread, so retry loops
	// (read_retry after an invalidation) make progress.
	if s.reclaimed[o.Pos] {
		return
	}
	if s.rng != nil && s.rng.IntN(2) == 0 {
		return
	}
	s.reclaimed[o.Pos] = true
	s.event(t, "reclaim", "memory pressure: "+o.Text+" enters direct reclaim", o.Pos)
	// The reclaim body is shared, not copied; its synthetic steps report the
	// position of the allocation that entered reclaim.
	t.frames = append(t.frames, &frame{ops: s.p.Reclaim, reclaim: true, origin: o.Pos, why: o.Text + " at " + o.Pos.String()})
}

func (s *sim) acquire(t *thread, f *frame, o kernel.Op) bool {
	key := keyOf(o)
	if !s.isReal(o) {
		t.held = append(t.held, held{key: key, name: o.Lock, mode: o.Mode, ctx: o.Ctx})
		if strings.HasPrefix(o.Lock, "notifier(") {
			// The interval stays invalidating until invalidate_range_end
			// (the release of the notifier map), not just the callback.
			u := strings.TrimSuffix(strings.TrimPrefix(o.Lock, "notifier("), ")")
			s.inval[u]++
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
	if o.Ctx != "" && s.holds(t, key) {
		s.event(t, "lock", o.Text+" (-EALREADY: already locked in this context)", o.Pos)
		return true
	}
	if !s.canLock(t, inst, o.Mode) {
		if o.Try {
			s.failBranch(t, f, o, "trylock", o.Text+" (contended: fails)")
			return false
		}
		if s.mustDie(t, inst, o) {
			// Wait-Die: the younger transaction backs off with -EDEADLK,
			// drops every lock of its context and relocks the contended one
			// first (drm_exec, R23).
			for i := len(t.held) - 1; i >= 0; i-- {
				if t.held[i].ctx == o.Ctx && t.held[i].inst != "" {
					s.drop(t, t.held[i].inst)
					t.held = append(t.held[:i], t.held[i+1:]...)
				}
			}
			s.event(t, "backoff", fmt.Sprintf("%s: -EDEADLK (older ticket holds it); unlock all and retry with %s first", o.Text, inst), o.Pos)
			t.slow = inst
			f.pc = t.ctxPC[o.Ctx]
			s.block(t, &blockOn{kind: "lock", inst: inst, op: o})
			// The slow lock is taken when the thread next runs.
			f.ops = append(append(append([]kernel.Op(nil), f.ops[:f.pc]...), o), f.ops[f.pc:]...)
			return false
		}
		s.block(t, &blockOn{kind: "lock", inst: inst, op: o})
		return false
	}
	if t.slow == inst {
		t.slow = ""
	}
	s.take(t, inst, o.Mode, t.tickets[o.Ctx])
	t.held = append(t.held, held{key: key, inst: inst, name: o.Lock, mode: o.Mode, ctx: o.Ctx})
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
func (s *sim) failBranch(t *thread, f *frame, o kernel.Op, kind, text string) {
	to := f.pc + o.FailTo
	if o.FailTo <= 0 || to > len(f.ops) {
		to = len(f.ops)
	}
	where := "returns"
	if to < len(f.ops) {
		where = "continues at " + f.ops[to].Pos.String()
	}
	s.event(t, kind, text+"; the path "+where, o.Pos)
	f.pc = to
}
