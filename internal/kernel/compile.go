package kernel

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/fencecheck/fencecheck/internal/model"
)

// Compile lowers a validated scenario to a Program. The scenario must have
// loaded without errors; Compile trusts names and references.
func Compile(sc *model.Scenario) *Program {
	c := &compiler{sc: sc, f: sc.File, p: &Program{
		Scenario: sc, File: sc.Path, Fences: map[string]*FenceInfo{}, Jobs: map[string]*JobInfo{},
		MMUNotifier: true,
	}}
	if k := c.f.Kernel; k != nil && k.MMUNotifier.Set {
		c.p.MMUNotifier = k.MMUNotifier.V
	}
	c.budget = compileBudget(sc)
	if k := c.f.Kernel; k != nil {
		c.p.Profile = ProfileFor(k.Version.V)
	} else {
		c.p.Profile = ProfileFor("")
	}
	c.index()
	c.bases()
	c.fences()
	c.jobs()
	c.implicitSync()
	c.roles()
	c.workload()
	c.coverage()
	c.completionSections()
	c.p.Reclaim = c.reclaimThread("direct_reclaim", 0, model.Pos{}).Ops
	c.collapse()
	return c.p
}

type compiler struct {
	sc *model.Scenario
	f  *model.File
	p  *Program

	// stepSlab backs the step lists of path expansions (repeated), so
	// that a design with a hundred thousand paths does not allocate one
	// list per path.
	stepSlab []*model.Step

	paths      map[string]*model.Path
	locks      map[string]*model.Lock
	buffers    map[string]*model.Buffer
	dmabufs    map[string]*model.DmaBuf
	userptrs   map[string]*model.Userptr
	vms        map[string]*model.VM
	entitySch  map[string]*model.Scheduler
	schedDev   map[string]string
	engines    map[string]*model.Engine
	entityKern map[string]bool
	// rooted marks paths that some role or action runs as a thread root.
	rooted map[string]bool
	called map[string]bool
	// budget is how many more steps expand may produce (OverBudget).
	budget int64
	// bind is the object the path being expanded acts on (its param:);
	// collapsed marks per-object lock classes some path takes without
	// naming the instance (an unbound param): the graph keeps them as one
	// class, which over-approximates every instance.
	bind      string
	collapsed map[string]bool
	// callers: callerContexts' cache.
	callers map[string]map[string]bool
	// lockClasses memoises lockRef's resolution of each reference, and
	// lockIDs interns lock nodes (Program.LockNames).
	lockClasses map[string]*lockClass
	lockIDs     map[string]int32
}

// compileBudget bounds the compiled program. The loader already bounds the
// sum of the paths' inlined sizes (--max-steps); roles multiply it (every
// job on a scheduler runs its run_job path), so the program may be a few
// times larger, never unboundedly.
func compileBudget(sc *model.Scenario) int64 {
	n := sc.MaxSteps
	if n <= 0 {
		n = model.DefaultMaxSteps
	}
	return 4 * int64(n)
}

func (c *compiler) index() {
	c.paths = make(map[string]*model.Path, len(c.f.Paths))
	c.locks = make(map[string]*model.Lock, len(c.f.Locks))
	c.buffers = map[string]*model.Buffer{}
	c.dmabufs = map[string]*model.DmaBuf{}
	c.userptrs = map[string]*model.Userptr{}
	c.vms = map[string]*model.VM{}
	c.entitySch = map[string]*model.Scheduler{}
	c.schedDev = map[string]string{}
	c.engines = map[string]*model.Engine{}
	c.entityKern = map[string]bool{}
	c.rooted = map[string]bool{}
	c.called = map[string]bool{}
	c.collapsed = map[string]bool{}
	for i := range c.f.Paths {
		p := &c.f.Paths[i]
		c.paths[p.Name.V] = p
		for si := range p.Steps {
			if op, v := p.Steps[si].Operation(); op == "call" {
				c.called[v.V] = true
			}
		}
	}
	c.p.lockKinds = make(map[string]string, len(c.f.Locks))
	c.p.irqSafe = make(map[string]bool, len(c.f.Locks))
	for i := range c.f.Locks {
		l := &c.f.Locks[i]
		c.locks[l.Name.V] = l
		c.p.lockKinds[l.Name.V] = l.Kind.V
		c.p.irqSafe[l.Name.V] = l.IRQSafe.V
	}
	for i := range c.f.Buffers {
		c.buffers[c.f.Buffers[i].Name.V] = &c.f.Buffers[i]
		if fp := c.f.Buffers[i].Free.V; fp != "" {
			c.called[fp] = true // runs inside the put that drops the last reference
		}
	}
	for i := range c.f.DmaBufs {
		c.dmabufs[c.f.DmaBufs[i].Name.V] = &c.f.DmaBufs[i]
	}
	for i := range c.f.Userptrs {
		c.userptrs[c.f.Userptrs[i].Name.V] = &c.f.Userptrs[i]
	}
	for i := range c.f.VMs {
		c.vms[c.f.VMs[i].Name.V] = &c.f.VMs[i]
	}
	for di := range c.f.Devices {
		d := &c.f.Devices[di]
		for ei := range d.Engines {
			c.engines[d.Engines[ei].Name.V] = &d.Engines[ei]
		}
		for si := range d.Schedulers {
			s := &d.Schedulers[si]
			c.schedDev[s.Name.V] = d.Name.V
			for _, e := range s.Entities {
				c.entitySch[e.Name.V] = s
				c.entityKern[e.Name.V] = e.Kernel.V
			}
		}
	}
}

func (c *compiler) fences() {
	add := func(fi *FenceInfo) {
		if _, ok := c.p.Fences[fi.Name]; ok {
			return
		}
		c.p.Fences[fi.Name] = fi
		c.p.FenceOrder = append(c.p.FenceOrder, fi.Name)
	}
	for _, f := range c.f.Fences {
		ctx := f.Context.V
		if ctx == "" {
			ctx = f.Name.V
		}
		add(&FenceInfo{Name: f.Name.V, Context: ctx, Seqno: f.Seqno.V, Foreign: f.Foreign.V, Indefinite: f.Indefinite.V, Pos: f.Name.P})
	}
	c.compositeFences()
	// Job fences: each entity's finished fences form one context, numbered
	// in submission order (K3, drm_sched_fence).
	seq := map[string]int64{}
	for _, j := range c.f.Jobs {
		seq[j.Entity.V]++
		add(&FenceInfo{Name: j.Fence.V, Context: j.Entity.V + ".finished", Seqno: seq[j.Entity.V], Job: j.Name.V, Pos: j.Fence.P})
	}
}

// fenceName resolves a fence-or-job reference to a fence name.
func (c *compiler) fenceName(ref string) string {
	if c.sc.Kinds[ref] == "job" {
		for _, j := range c.f.Jobs {
			if j.Name.V == ref {
				return j.Fence.V
			}
		}
	}
	return ref
}

func (c *compiler) jobs() {
	for _, j := range c.f.Jobs {
		sch := c.entitySch[j.Entity.V]
		ji := &JobInfo{Name: j.Name.V, Fence: j.Fence.V, Entity: j.Entity.V, Hang: j.Hang.V,
			Duration: 1, Pos: j.Name.P, RunJob: j.RunJob.V, FreeJob: j.FreeJob.V, Callback: j.Callback.V,
			KernelQ: c.entityKern[j.Entity.V], Faults: len(j.Faults) > 0}
		if j.Duration.Set && j.Duration.V > 0 {
			ji.Duration = j.Duration.V
		}
		if sch != nil {
			ji.Scheduler = sch.Name.V
			ji.Engine = sch.Engine.V
			ji.Device = c.schedDev[sch.Name.V]
			ji.Timeout = sch.Timeout.V
			if sch.Lockup.V == "infinite" {
				if fi := c.p.Fences[ji.Fence]; fi != nil {
					fi.NoTimeout = sch.Name.V
				}
			}
		}
		ji.PrepareJob = j.Prepare.V
		if j.DmaFence.Set && !j.DmaFence.V {
			ji.NoFence = true
			if fi := c.p.Fences[ji.Fence]; fi != nil {
				fi.NoDmaFence = true
			}
		}
		for _, d := range j.Deps {
			fd := FenceDep{On: c.fenceName(d.V), Pos: d.P, Kind: "dependency",
				Why: fmt.Sprintf("job %s depends on %s", j.Name.V, d.V)}
			ji.Deps = append(ji.Deps, fd)
		}
		c.p.Jobs[j.Name.V] = ji
		c.p.JobOrder = append(c.p.JobOrder, j.Name.V)
	}
}

// resvOf names the dma_resv object behind a buffer-like reference: VM-private
// buffers share their VM's resv; a dma-buf is its exported buffer's resv.
func (c *compiler) resvOf(name string) string {
	if d, ok := c.dmabufs[name]; ok {
		name = d.Buffer.V
	}
	if b, ok := c.buffers[name]; ok && b.VM.V != "" {
		return b.VM.V
	}
	if u, ok := c.userptrs[name]; ok && u.VM.V != "" {
		return u.VM.V
	}
	return name
}

var usageRank = map[string]int{"KERNEL": 0, "WRITE": 1, "READ": 2, "BOOKKEEP": 3}

// implicitSync adds the dependencies a job gets from the resvs of its
// buffers, in workload submission order (seed 002, K4): a job that
// writes waits for fences up to READ, a reader waits up to WRITE, and every
// job waits for KERNEL fences (moves and clears).
func (c *compiler) implicitSync() {
	type entry struct {
		fence, usage string
	}
	resv := map[string][]entry{}
	lastOnEntity := map[string]string{}
	for _, a := range c.f.Workload {
		if op, v := a.Operation(); op != "submit" {
			continue
		} else {
			var job *model.Job
			for i := range c.f.Jobs {
				if c.f.Jobs[i].Name.V == v.V {
					job = &c.f.Jobs[i]
				}
			}
			if job == nil {
				continue
			}
			ji := c.p.Jobs[job.Name.V]
			// An entity is a FIFO: its jobs run in push order, so each job
			// depends on the previous one (K8, R15).
			if prev, ok := lastOnEntity[ji.Entity]; ok && prev != ji.Fence {
				ji.Deps = append(ji.Deps, FenceDep{On: prev, Pos: job.Entity.P, Kind: "entity-order",
					Why: fmt.Sprintf("job %s is queued on entity %s behind %s (entities run in order)", job.Name.V, ji.Entity, prev)})
			}
			lastOnEntity[ji.Entity] = ji.Fence
			for _, bu := range job.Buffers {
				usage := bu.Usage.V
				if usage == "" {
					usage = "READ"
				}
				limit := "KERNEL"
				switch usage {
				case "WRITE":
					limit = "READ"
				case "READ":
					limit = "WRITE"
				case "KERNEL":
					limit = "BOOKKEEP"
				}
				r := c.resvOf(bu.Buffer.V)
				for _, e := range resv[r] {
					if usageRank[e.usage] <= usageRank[limit] && e.fence != ji.Fence {
						ji.Deps = append(ji.Deps, FenceDep{On: e.fence, Pos: bu.Buffer.P, Kind: "implicit-sync",
							Why: fmt.Sprintf("job %s waits (implicit sync, %s) for %s's %s fence %s", job.Name.V, usage, bu.Buffer.V, e.usage, e.fence)})
					}
				}
				if !ji.NoFence {
					resv[r] = append(resv[r], entry{fence: ji.Fence, usage: usage})
				}
			}
		}
	}
	// A job submitted from a path (a notifier's page-table update, a
	// worker) may be pushed behind any job the workload queues on the same
	// entity.
	inWorkload := map[string]bool{}
	for _, a := range c.f.Workload {
		if op, v := a.Operation(); op == "submit" {
			inWorkload[v.V] = true
		}
	}
	for _, j := range c.f.Jobs {
		if inWorkload[j.Name.V] {
			continue
		}
		ji := c.p.Jobs[j.Name.V]
		for _, other := range c.p.JobOrder {
			oj := c.p.Jobs[other]
			if other != j.Name.V && inWorkload[other] && oj.Entity == ji.Entity {
				ji.Deps = append(ji.Deps, FenceDep{On: oj.Fence, Pos: j.Entity.P, Kind: "entity-order",
					Why: fmt.Sprintf("job %s may be queued on entity %s behind %s (entities run in order)", j.Name.V, ji.Entity, other)})
			}
		}
	}
	for _, name := range c.p.JobOrder {
		ji := c.p.Jobs[name]
		if fi := c.p.Fences[ji.Fence]; fi != nil {
			fi.Deps = ji.Deps
		}
	}
}

// section returns the implicit held entry for a fence signalling section.
func section(fence, why string, pos model.Pos) Held {
	return Held{Lock: fence, Mode: Read, Try: true, Section: true, Why: why, Pos: pos}
}

// schedHeld marks the implicit sections of a drm_sched callback as
// unannotated unless the scheduler core annotates them (the profile, or the
// scheduler's annotate: override). sched "" means unknown: the profile.
func (c *compiler) schedHeld(sched string, hs []Held) []Held {
	annotates := c.p.Profile.SchedAnnotates
	for _, d := range c.f.Devices {
		for _, s := range d.Schedulers {
			if s.Name.V == sched && s.Annotate.Set {
				annotates = s.Annotate.V
			}
		}
	}
	if annotates {
		return hs
	}
	for i := range hs {
		if hs[i].Section && hs[i].Unannotated == "" {
			hs[i].Unannotated = "the drm_sched core does not call dma_fence_begin_signalling() around this callback"
		}
	}
	return hs
}

// atomicHeld marks signalling sections of atomic contexts as unannotated:
// dma_fence_begin_signalling() returns early when in_atomic()
// (drivers/dma-buf/dma-fence.c), so lockdep records nothing there.
func atomicHeld(hs []Held) []Held {
	for i := range hs {
		if hs[i].Section && hs[i].Unannotated == "" {
			hs[i].Unannotated = "dma_fence_begin_signalling() returns early in_atomic()"
		}
	}
	return hs
}

// NotifierNode and ShrinkerNode name the per-callback pseudo-locks fencecheck
// adds in precise mode (lockdep has one map for all of them).
func NotifierNode(userptr string) string { return "notifier(" + userptr + ")" }
func ShrinkerNode(name string) string    { return "shrinker(" + name + ")" }

// IsAtomicContext reports contexts that cannot sleep (R25).
func IsAtomicContext(ctx string) bool {
	return IsInterruptContext(ctx) || ctx == model.CtxFenceCB
}

// IsInterruptContext reports hard and soft interrupt contexts (in_interrupt()).
func IsInterruptContext(ctx string) bool {
	return IsHardIRQContext(ctx) && ctx != model.CtxFenceCB || ctx == model.CtxSoftIRQ
}

// IsHardIRQContext reports contexts lockdep counts as hardirq: interrupt
// handlers, irq_work (run from the irq_work interrupt, kernel/irq_work.c),
// and fence callbacks, which dma_fence_signal() may run from the completion
// interrupt (R25).
func IsHardIRQContext(ctx string) bool {
	return ctx == model.CtxIRQ || ctx == model.CtxIRQNoThread || ctx == model.CtxFenceCB || ctx == model.CtxIRQWork
}

// roles creates one thread per callback role: run_job/free_job/callbacks of
// jobs, timeout handlers, notifiers, shrinkers and fault handlers. They run
// in the executor when triggered and are always analysed (the model sees
// every declared path, not only those a test happened to hit).
func (c *compiler) roles() {
	schedFences := map[string][]string{}
	devFaultFences := map[string][]string{}
	for _, name := range c.p.JobOrder {
		ji := c.p.Jobs[name]
		if !ji.NoFence {
			schedFences[ji.Scheduler] = append(schedFences[ji.Scheduler], ji.Fence)
		}
	}
	for _, j := range c.f.Jobs {
		if len(j.Faults) > 0 && !c.p.Jobs[j.Name.V].NoFence {
			ji := c.p.Jobs[j.Name.V]
			devFaultFences[ji.Device] = append(devFaultFences[ji.Device], ji.Fence)
		}
	}
	for _, name := range c.p.JobOrder {
		ji := c.p.Jobs[name]
		if ji.PrepareJob != "" {
			c.prepareAndRun(name, ji)
		} else if ji.RunJob != "" {
			// R16: run_job is signalling code for the job's fence.
			c.role(ji.RunJob, model.CtxRunJob, "run_job("+name+")", c.schedHeld(ji.Scheduler, c.jobSection(ji, "run_job of "+name+" (R16)")), "job-run:"+name)
		}
		if ji.FreeJob != "" {
			// R16: free_job shares the ordered submit workqueue with later
			// run_jobs, so it is signalling code for every fence of the
			// scheduler.
			var hs []Held
			for _, f := range schedFences[ji.Scheduler] {
				hs = append(hs, section(f, "free_job on scheduler "+ji.Scheduler+" (R16)", ji.Pos))
			}
			c.role(ji.FreeJob, model.CtxFreeJob, "free_job("+name+")", c.schedHeld(ji.Scheduler, hs), "job-free:"+name)
		}
		if ji.Callback != "" {
			c.role(ji.Callback, model.CtxFenceCB, "fence_cb("+name+")", append(c.fenceLockHeld(c.jobFenceLock(name), ji.Pos), atomicHeld(c.jobSection(ji, "callback of "+ji.Fence+" runs inside dma_fence_signal (R25)"))...), "fence-cb:"+ji.Fence)
		}
	}
	for _, f := range c.f.Fences {
		if f.Callback.V != "" {
			// dma_fence_add_callback on a fence the file declares: the
			// callback runs from dma_fence_signal() in the signaller's
			// (possibly interrupt) context (R25).
			ctx := model.CtxFenceCB
			if len(f.Chain) > 0 {
				ctx = model.CtxIRQWork // a chain signals from dma_fence_chain_irq_work
			}
			c.role(f.Callback.V, ctx, "fence_cb("+f.Name.V+")", append(c.fenceLockHeld(f.Lock.V, f.Lock.P), atomicHeld([]Held{section(f.Name.V, "callback of "+f.Name.V+" runs inside dma_fence_signal (R25)", f.Callback.P)})...), "fence-cb:"+f.Name.V)
		}
	}
	for _, d := range c.f.Devices {
		for _, s := range d.Schedulers {
			if s.Timeout.V != "" {
				var hs []Held
				for _, f := range schedFences[s.Name.V] {
					hs = append(hs, section(f, "timedout_job must complete "+f+" (R17)", s.Timeout.P))
				}
				// drm_sched_job_timedout() is sched->work_tdr, a delayed work
				// item: process_one_work holds its map, so flushing or
				// cancelling it under a lock the handler takes is C13.
				hs = append([]Held{{Lock: WorkNode(s.Timeout.V), Why: "timedout_job runs as the scheduler's work_tdr work item", Pos: s.Timeout.P}}, c.schedHeld(s.Name.V, hs)...)
				c.role(s.Timeout.V, model.CtxTimedoutJob, "timedout_job("+s.Name.V+")", hs, "timeout:"+s.Name.V)
			}
		}
		if d.MMU != nil && d.MMU.FaultHandler.V != "" {
			var hs []Held
			for _, f := range devFaultFences[d.Name.V] {
				hs = append(hs, section(f, "the faulting job cannot complete until the fault is handled (R19)", d.MMU.FaultHandler.P))
			}
			hs = append(hs, c.sharedResourceSections(d.Name.V, d.MMU.FaultHandler.P)...)
			c.role(d.MMU.FaultHandler.V, model.CtxFaultHandler, "gpu_fault("+d.Name.V+")", hs, "fault:"+d.Name.V)
		}
	}
	for _, u := range c.f.Userptrs {
		c.role(u.Notifier.V, model.CtxNotifier, "notifier("+u.Name.V+")", c.notifierEntry(u.Name.V, u.Notifier.P), "notifier:"+u.Name.V)
		if u.Release.V != "" {
			// The release callback runs in whichever task drops the
			// last mm reference, outside the invalidate map (under
			// the notifier SRCU); analysed on its own in process context.
			c.role(u.Release.V, model.CtxProcess, "notifier_release("+u.Name.V+")", nil, "")
		}
	}
	for _, s := range c.f.Shrinkers {
		entry := []Held{{Lock: FsReclaim, Why: "shrinkers run under reclaim (K11)", Pos: s.Name.P},
			{Lock: ShrinkerNode(s.Name.V), Why: "shrinker " + s.Name.V, Pos: s.Name.P}}
		if scan := c.paths[s.Scan.V]; scan != nil && scan.Param.V != "" {
			// The scan reaches only the objects on its LRU (mm/shrinker.c:
			// do_shrink_slab calls scan_objects, which walks the driver's
			// own list): one thread per object, bound to it.
			c.rooted[s.Scan.V] = true
			for _, obj := range s.LRU {
				c.bound(obj.V, func() {
					c.role(s.Scan.V, model.CtxShrinkScan, "shrinker_scan("+s.Name.V+", "+obj.V+")", entry, "")
				})
			}
		} else {
			c.role(s.Scan.V, model.CtxShrinkScan, "shrinker_scan("+s.Name.V+")", entry, "")
		}
		if s.Count.V != "" {
			c.role(s.Count.V, model.CtxShrinkCount, "shrinker_count("+s.Name.V+")", entry, "")
		}
	}
}

func (c *compiler) notifierEntry(userptr string, pos model.Pos) []Held {
	return []Held{
		{Lock: MMUNotifier, Why: "the core mm holds the notifier map around invalidate callbacks (K9)", Pos: pos},
		{Lock: NotifierNode(userptr), Why: "invalidate callback of " + userptr, Pos: pos},
	}
}

func (c *compiler) role(path, ctx, name string, entry []Held, trigger string) {
	p := c.paths[path]
	if p == nil {
		return
	}
	c.rooted[path] = true
	ps := c.pathSections(p)
	if IsAtomicContext(ctx) {
		ps = atomicHeld(ps)
	}
	t := &Thread{Name: name, Context: ctx, Root: path, Entry: append(entry, ps...), Pos: p.Name.P, Trigger: trigger}
	t.Atomic = IsAtomicContext(ctx)
	t.Ops = c.expand(p, ctx, 0, false)
	c.p.Threads = append(c.p.Threads, t)
}

// pathSections is the signalling section a path declares with signals: (R1).
func (c *compiler) pathSections(p *model.Path) []Held {
	var hs []Held
	for _, s := range p.Signals {
		f := c.fenceName(s.V)
		hs = append(hs, section(f, "path "+p.Name.V+" signals "+f+" (R1)", s.P))
	}
	return hs
}

// contextEntry is the implicit state of a path run directly in its declared
// context (workload run: and coverage threads).
func (c *compiler) contextEntry(p *model.Path) []Held {
	var hs []Held
	switch p.Context.V {
	case model.CtxNotifier:
		hs = append(hs, c.notifierEntry(p.Name.V, p.Name.P)...)
	case model.CtxWorker:
		// process_one_work holds the work's lockdep map around the function
		// (K15), so flush_work under a lock the worker takes is C13.
		hs = append(hs, c.workerEntry(p)...)
	case model.CtxShrinkScan, model.CtxShrinkCount, model.CtxReclaim:
		hs = append(hs, Held{Lock: FsReclaim, Why: "runs under reclaim (K11)", Pos: p.Name.P})
	case model.CtxFaultHandler:
		for _, d := range c.f.Devices {
			if d.MMU != nil && d.MMU.FaultHandler.V == p.Name.V {
				hs = append(hs, c.faultSections(d.Name.V, p.Name.P)...)
			}
		}
		if len(hs) == 0 && len(p.Signals) == 0 {
			h := section("fence("+p.Name.V+")", "a fault handler is signalling code for the faulting job (R19)", p.Name.P)
			// No job declares faults: on the device, so no fence waits for
			// this handler and nothing would annotate it (R19).
			h.Unannotated = "no job faults on the device"
			hs = append(hs, h)
		}
	case model.CtxRunJob, model.CtxFreeJob, model.CtxTimedoutJob, model.CtxPrepareJob, model.CtxIRQ, model.CtxIRQNoThread, model.CtxFenceCB:
		if len(p.Signals) == 0 {
			// Signalling code for a fence the file does not name (R16).
			hs = append(hs, section("fence("+p.Name.V+")", p.Context.V+" is signalling code (R16)", p.Name.P))
			if !IsAtomicContext(p.Context.V) {
				hs = c.schedHeld("", hs)
			}
		}
	}
	hs = append(hs, c.pathSections(p)...)
	if IsAtomicContext(p.Context.V) {
		hs = atomicHeld(hs)
	}
	return hs
}

func (c *compiler) pathThread(p *model.Path, name string, workload bool, order int, pos model.Pos) *Thread {
	t := &Thread{Name: name, Context: p.Context.V, Root: p.Name.V, Entry: c.contextEntry(p), Pos: pos,
		Primed: p.Context.V == model.CtxPrime, Workload: workload, Order: order}
	t.Atomic = IsAtomicContext(p.Context.V)
	t.Ops = c.expand(p, p.Context.V, 0, t.Primed)
	return t
}

// workload turns each action into a thread (or marks a job as hanging).
func (c *compiler) workload() {
	for i, a := range c.f.Workload {
		op, v := a.Operation()
		threadName := a.Thread.V
		name := func(def string) string {
			if threadName != "" {
				return threadName
			}
			return def
		}
		switch op {
		case "run":
			p := c.paths[v.V]
			c.rooted[v.V] = true
			if a.With.V != "" {
				c.bound(a.With.V, func() {
					c.p.Threads = append(c.p.Threads, c.pathThread(p, name(v.V+"("+a.With.V+")"), true, i, a.P))
				})
				continue
			}
			c.p.Threads = append(c.p.Threads, c.pathThread(p, name(pathThreadName(p)), true, i, a.P))
		case "submit":
			c.p.Threads = append(c.p.Threads, c.submitThread(v.V, name("submit("+v.V+")"), i, a.P))
		case "munmap":
			c.p.Threads = append(c.p.Threads, c.munmapThread(v.V, name("munmap("+v.V+")"), i, a.P, false))
		case "fork", "mprotect", "madvise_dontneed", "migrate", "thp_split":
			c.p.Threads = append(c.p.Threads, c.mmEventThread(op, v.V, name(op+"("+v.V+")"), i, a.P))
		case "oom":
			for _, u := range c.f.Userptrs {
				c.p.Threads = append(c.p.Threads, c.munmapThread(u.Name.V, name("oom_reaper("+u.Name.V+")"), i, a.P, true))
			}
		case "touch":
			t := &Thread{Name: name("cpu_fault(" + v.V + ")"), Context: model.CtxProcess, Root: "touch", Pos: a.P, Workload: true, Order: i}
			t.Ops = append(t.Ops, c.synth(OpAcquire, MmapLock, Read, a.P, "mmap_read_lock (CPU page fault)"))
			if _, isBuf := c.buffers[v.V]; isBuf {
				t.Ops = append(t.Ops, c.synth(OpAcquire, WWMutex, Write, a.P, "dma_resv_lock of "+v.V+" in the CPU fault handler"))
				t.Ops = append(t.Ops, c.synth(OpRelease, WWMutex, Write, a.P, "dma_resv_unlock"))
			}
			t.Ops = append(t.Ops, c.synth(OpRelease, MmapLock, Read, a.P, "mmap_read_unlock"))
			c.p.Threads = append(c.p.Threads, t)
		case "memory_pressure":
			c.p.Threads = append(c.p.Threads, c.reclaimThread(name("kswapd0"), i, a.P))
		case "hang":
			if ji := c.p.Jobs[v.V]; ji != nil {
				ji.Hang = true
			}
		case "fault":
			dev := c.deviceOf(v.V)
			for _, d := range c.f.Devices {
				if d.Name.V == dev && d.MMU != nil && d.MMU.FaultHandler.V != "" {
					p := c.paths[d.MMU.FaultHandler.V]
					t := c.pathThread(p, name("gpu_fault("+v.V+")"), true, i, a.P)
					t.Context = model.CtxFaultHandler
					t.Device = dev
					c.p.Threads = append(c.p.Threads, t)
				}
			}
		case "vm_bind":
			if a.Path.V != "" {
				p := c.paths[a.Path.V]
				c.rooted[a.Path.V] = true
				t := c.pathThread(p, name("vm_bind("+v.V+")"), true, i, a.P)
				c.p.Threads = append(c.p.Threads, t)
			}
		case "signal":
			t := &Thread{Name: name("signal(" + v.V + ")"), Context: model.CtxProcess, Root: "signal", Pos: a.P, Workload: true, Order: i}
			op := c.synth(OpSignal, "", Write, a.P, "dma_fence_signal("+v.V+")")
			op.Mut().Fence = v.V
			t.Ops = append(t.Ops, op)
			c.p.Threads = append(c.p.Threads, t)
		}
	}
}

func (c *compiler) faultSections(dev string, pos model.Pos) []Held {
	var hs []Held
	for _, name := range c.p.JobOrder {
		ji := c.p.Jobs[name]
		if ji.Faults && ji.Device == dev && !ji.NoFence {
			hs = append(hs, section(ji.Fence, "the faulting job "+name+" cannot complete until the fault is handled (R19)", pos))
		}
	}
	return append(hs, c.sharedResourceSections(dev, pos)...)
}

func (c *compiler) deviceOf(obj string) string {
	if u, ok := c.userptrs[obj]; ok {
		return u.Device.V
	}
	if v, ok := c.vms[obj]; ok {
		return v.Device.V
	}
	if b, ok := c.buffers[obj]; ok {
		if b.Device.V != "" {
			return b.Device.V
		}
		if v, ok := c.vms[b.VM.V]; ok {
			return v.Device.V
		}
	}
	return ""
}

// ioctlPlace is where synthetic ops run unless their thread says otherwise.
var ioctlPlace = NewPlace("", model.CtxIoctl)

func (c *compiler) synth(kind OpKind, lock string, mode Mode, pos model.Pos, text string) Op {
	return Op{Kind: kind, Lock: lock, Mode: mode, Pos: pos, Text: text, Synthetic: true, place: ioctlPlace}
}

// submitThread models a submission ioctl: the driver's submit path (locking,
// slot reservation, allocation), then drm_sched_job_arm + push (the fence is
// published: R2), then the fence is added to every buffer's resv, then every
// lock still held is released. Without a submit path, drm_exec-style
// locking and reservation is generated (R13, R23).
func (c *compiler) submitThread(job, name string, order int, pos model.Pos) *Thread {
	var mj *model.Job
	for i := range c.f.Jobs {
		if c.f.Jobs[i].Name.V == job {
			mj = &c.f.Jobs[i]
		}
	}
	ji := c.p.Jobs[job]
	t := &Thread{Name: name, Context: model.CtxIoctl, Root: "submit", Pos: pos, Workload: true, Order: order, Job: job}
	auto := mj.Submit.V == ""
	if !auto {
		p := c.paths[mj.Submit.V]
		c.rooted[mj.Submit.V] = true
		t.Ops = append(t.Ops, c.expand(p, model.CtxIoctl, 0, false)...)
	} else if len(mj.Buffers) > 0 {
		ctx := "exec(" + job + ")"
		init := c.synth(OpWWInit, WWAcquire, Write, mj.Name.P, "drm_exec_init (ww_acquire_init)")
		init.Mut().Ctx = ctx
		t.Ops = append(t.Ops, init)
		seen := map[string]bool{}
		for _, bu := range mj.Buffers {
			r := c.resvOf(bu.Buffer.V)
			if seen[r] {
				continue
			}
			seen[r] = true
			l := c.synth(OpAcquire, WWMutex, Write, bu.Buffer.P, "drm_exec_lock_obj("+r+")")
			l.Inst = InstanceOf(r, r)
			x := l.Mut()
			x.Obj, x.Ctx, x.NestLock = r, ctx, WWAcquire
			l.Unpublished = c.unpublished(r)
			t.Ops = append(t.Ops, l)
			rs := c.synth(OpReserve, "", Write, bu.Buffer.P, "dma_resv_reserve_fences("+r+", 1)")
			rs.Mut().Obj, rs.Count = r, 1
			t.Ops = append(t.Ops, rs)
		}
		al := c.synth(OpAlloc, "", Write, mj.Name.P, "drm_sched_job_init: kmalloc(GFP_KERNEL)")
		al.GFP, _ = model.ParseGFP("GFP_KERNEL")
		t.Ops = append(t.Ops, al)
	}
	arm := c.synth(OpSubmit, "", Write, pos, "drm_sched_job_arm + drm_sched_entity_push_job("+job+"): "+ji.Fence+" is published (R2)")
	x := arm.Mut()
	x.Job, x.Fence = job, ji.Fence
	t.Ops = append(t.Ops, arm)
	for _, bu := range mj.Buffers {
		if ji.NoFence {
			break // no dma_fence to publish in any resv
		}
		usage := bu.Usage.V
		if usage == "" {
			usage = "READ"
		}
		r := c.resvOf(bu.Buffer.V)
		af := c.synth(OpAddFence, "", Write, bu.Buffer.P, fmt.Sprintf("dma_resv_add_fence(%s, %s, %s)", r, ji.Fence, usage))
		x := af.Mut()
		x.Obj, x.Fence, x.Usage = r, ji.Fence, usage
		t.Ops = append(t.Ops, af)
	}
	t.Ops = append(t.Ops, c.releaseAll(t.Ops, pos)...)
	return t
}

// releaseAll releases, innermost first, whatever the ops leave held, and
// finishes acquire contexts they leave open.
func (c *compiler) releaseAll(ops []Op, pos model.Pos) []Op {
	var held []Op
	var ctxs []string
	for _, o := range ops {
		switch o.Kind {
		case OpAcquire:
			held = append(held, o)
		case OpRelease:
			for i := len(held) - 1; i >= 0; i-- {
				if (o.Inst != "" && held[i].Inst == o.Inst) || (o.Inst == "" && held[i].Lock == o.Lock) {
					held = append(held[:i], held[i+1:]...)
					break
				}
			}
		case OpWWInit:
			ctxs = append(ctxs, o.Ext().Ctx)
		case OpWWFini:
			for i := range ctxs {
				if ctxs[i] == o.Ext().Ctx {
					ctxs = append(ctxs[:i], ctxs[i+1:]...)
					break
				}
			}
		}
	}
	var out []Op
	for i := len(held) - 1; i >= 0; i-- {
		r := c.synth(OpRelease, held[i].Lock, held[i].Mode, pos, "unlock "+held[i].Lock)
		r.Inst = held[i].Inst
		if obj := held[i].Ext().Obj; obj != "" {
			r.Mut().Obj = obj
		}
		out = append(out, r)
	}
	for i := len(ctxs) - 1; i >= 0; i-- {
		f := c.synth(OpWWFini, WWAcquire, Write, pos, "drm_exec_fini (ww_acquire_fini)")
		f.Mut().Ctx = ctxs[i]
		out = append(out, f)
	}
	return out
}

// munmapThread models munmap (or the OOM reaper when nonblock): mmap_lock for
// write, the notifier map, the userptr's invalidate callback, then the core
// mm frees the pages (K9, R20).
func (c *compiler) munmapThread(userptr, name string, order int, pos model.Pos, nonblock bool) *Thread {
	u := c.userptrs[userptr]
	ctx := model.CtxProcess
	t := &Thread{Name: name, Context: ctx, Root: "munmap", Pos: pos, Workload: true, Order: order}
	if !nonblock {
		t.Ops = append(t.Ops, c.synth(OpAcquire, MmapLock, Write, pos, "mmap_write_lock (munmap)"))
		um := c.synth(OpMunmap, "", Write, pos, "the VMA of "+userptr+" is detached")
		um.Mut().Obj = userptr
		t.Ops = append(t.Ops, um)
	}
	t.Ops = append(t.Ops, c.synth(OpAcquire, MMUNotifier, Write, pos, "mmu_notifier_invalidate_range_start"))
	t.Ops = append(t.Ops, c.synth(OpAcquire, NotifierNode(userptr), Write, pos, "invalidate callback of "+userptr))
	p := c.paths[u.Notifier.V]
	body := c.expand(p, model.CtxNotifier, 0, false)
	if nonblock {
		places := map[*Place]*Place{}
		for i := range body {
			old := body[i].place
			if places[old] == nil {
				places[old] = NewPlace(body[i].InPath(), "notifier_nonblock")
			}
			body[i].place = places[old]
		}
	}
	t.Ops = append(t.Ops, body...)
	t.Ops = append(t.Ops, c.synth(OpRelease, NotifierNode(userptr), Write, pos, "callback returns"))
	t.Ops = append(t.Ops, c.synth(OpRelease, MMUNotifier, Write, pos, "mmu_notifier_invalidate_range_end"))
	fp := c.synth(OpFreePages, "", Write, pos, "the core mm frees the pages of "+userptr)
	fp.Mut().Obj = userptr
	t.Ops = append(t.Ops, fp)
	if !nonblock {
		t.Ops = append(t.Ops, c.synth(OpRelease, MmapLock, Write, pos, "mmap_write_unlock"))
	}
	return t
}

// reclaimThread models direct reclaim / kswapd: under fs_reclaim it may run
// every shrinker and, through try_to_unmap, every mmu notifier (K11).
func (c *compiler) reclaimThread(name string, order int, pos model.Pos) *Thread {
	t := &Thread{Name: name, Context: model.CtxReclaim, Root: "reclaim", Pos: pos, Workload: true, Order: order}
	t.Ops = append(t.Ops, c.synth(OpAcquire, FsReclaim, Write, pos, "fs_reclaim_acquire (memory pressure)"))
	for _, s := range c.f.Shrinkers {
		t.Ops = append(t.Ops, c.synth(OpAcquire, ShrinkerNode(s.Name.V), Write, pos, "shrink_slab: "+s.Name.V))
		if scan := c.paths[s.Scan.V]; scan != nil && scan.Param.V != "" {
			for _, obj := range s.LRU {
				c.bound(obj.V, func() {
					t.Ops = append(t.Ops, c.expand(scan, model.CtxShrinkScan, 0, false)...)
				})
			}
		} else {
			t.Ops = append(t.Ops, c.expand(c.paths[s.Scan.V], model.CtxShrinkScan, 0, false)...)
		}
		t.Ops = append(t.Ops, c.synth(OpRelease, ShrinkerNode(s.Name.V), Write, pos, "shrinker returns"))
	}
	for _, u := range c.f.Userptrs {
		t.Ops = append(t.Ops, c.synth(OpAcquire, MMUNotifier, Write, pos, "try_to_unmap: mmu_notifier_invalidate_range_start"))
		t.Ops = append(t.Ops, c.synth(OpAcquire, NotifierNode(u.Name.V), Write, pos, "invalidate callback of "+u.Name.V))
		t.Ops = append(t.Ops, c.expand(c.paths[u.Notifier.V], model.CtxNotifier, 0, false)...)
		t.Ops = append(t.Ops, c.synth(OpRelease, NotifierNode(u.Name.V), Write, pos, "callback returns"))
		t.Ops = append(t.Ops, c.synth(OpRelease, MMUNotifier, Write, pos, "mmu_notifier_invalidate_range_end"))
	}
	t.Ops = append(t.Ops, c.synth(OpRelease, FsReclaim, Write, pos, "fs_reclaim_release"))
	return t
}

// coverage adds a thread for every path that nothing else runs as a root
// and no path calls, so that every declared path is analysed.
func (c *compiler) coverage() {
	for _, p := range c.f.Paths {
		// A path reached by call: is analysed inside its callers; it is
		// also analysed on its own when it declares a context none of its
		// callers runs in (a fence_callback path a worker also calls),
		// so that context's rules apply to it. A helper (context: helper)
		// only ever runs inside its callers.
		if c.rooted[p.Name.V] || (c.called[p.Name.V] && (p.Context.V == model.CtxHelper || c.callerContexts()[p.Name.V][p.Context.V])) {
			continue
		}
		t := c.pathThread(c.paths[p.Name.V], threadName(&p), false, 0, p.Name.P)
		c.p.Threads = append(c.p.Threads, t)
	}
	// Stable order: workload threads by action order, then the rest by name.
	sort.SliceStable(c.p.Threads, func(i, j int) bool {
		a, b := c.p.Threads[i], c.p.Threads[j]
		if a.Workload != b.Workload {
			return a.Workload
		}
		if a.Workload {
			return a.Order < b.Order
		}
		return false
	})
}

// pathThreadName is threadName for use where a local variable shadows it.
func pathThreadName(p *model.Path) string { return threadName(p) }

func threadName(p *model.Path) string {
	if p.Thread.V != "" {
		return p.Thread.V
	}
	return p.Name.V
}

func (c *compiler) unpublished(obj string) bool {
	if b, ok := c.buffers[obj]; ok {
		return b.Unpublished.V
	}
	return false
}

// lockNode maps a lock reference (lock, buffer, VM or dma-buf) to its class
// node. Every dma_resv is one lockdep class (K7).
func (c *compiler) lockNode(ref string, sub int64) (node, obj string, ww bool) {
	lc := c.lockRef(ref)
	node, obj, ww = lc.node, lc.obj, lc.ww
	if sub != 0 {
		node = fmt.Sprintf("%s/%d", node, sub)
	}
	return node, obj, ww
}

// lockRef resolves a lock reference once per name (a lockdep-scale design
// locks each class many times): its class node, interned as an ID, the
// object whose resv it is and the declared lock.
func (c *compiler) lockRef(ref string) *lockClass {
	if strings.HasPrefix(ref, "$") {
		// The resv of an unbound parameter object.
		return &lockClass{node: WWMutex, obj: ref, ww: true, id: c.lockID(WWMutex)}
	}
	lc := c.lockClasses[ref]
	if lc == nil {
		if c.lockClasses == nil {
			c.lockClasses = make(map[string]*lockClass, len(c.f.Locks))
		}
		lc = &lockClass{decl: c.locks[ref]}
		if l := lc.decl; l != nil {
			lc.perObject = l.Per.V != "" || len(l.Instances) > 0
			lc.srcu = l.Kind.V == "srcu"
		}
		lc.node, lc.obj, lc.ww = c.lockClassOf(ref)
		lc.id = c.lockID(lc.node)
		c.lockClasses[ref] = lc
	}
	return lc
}

// lockID interns a lock node name: Op.LockID indexes Program.LockNames.
func (c *compiler) lockID(node string) int32 {
	if id, ok := c.lockIDs[node]; ok {
		return id
	}
	if c.lockIDs == nil {
		c.lockIDs = make(map[string]int32, len(c.f.Locks)+8)
		c.p.LockNames = append(make([]string, 0, len(c.f.Locks)+8), "")
	}
	id := int32(len(c.p.LockNames))
	c.p.LockNames = append(c.p.LockNames, node)
	c.lockIDs[node] = id
	return id
}

// lockClass is a lock reference resolved by lockRef.
type lockClass struct {
	node, obj string
	ww        bool
	id        int32       // node's ID in Program.LockNames
	decl      *model.Lock // the declared lock of that name, if any
	// perObject and srcu are what expand asks of decl on every step.
	perObject, srcu bool
	// texts are the "op: ref" texts of the lock steps on this reference
	// (lockSteps order), shared by every such step.
	texts [len(lockSteps)]string
}

// lockSteps are the steps whose text lockClass keeps.
var lockSteps = [...]string{"lock", "trylock", "might_lock", "unlock"}

// lockStep says whether op is one of lockSteps.
func lockStep(op string) bool {
	switch op {
	case "lock", "trylock", "might_lock", "unlock":
		return true
	}
	return false
}

// text is "op: ref", the default text of a step, made once per reference.
func (lc *lockClass) text(op, ref string) string {
	for i, s := range lockSteps {
		if s == op {
			if lc.texts[i] == "" {
				lc.texts[i] = op + ": " + ref
			}
			return lc.texts[i]
		}
	}
	return op + ": " + ref
}

// lockClassOf resolves a lock reference without subclass.
func (c *compiler) lockClassOf(ref string) (node, obj string, ww bool) {
	switch c.sc.Kinds[ref] {
	case "buffer", "vm", "dmabuf", "userptr":
		node, obj, ww = WWMutex, c.resvOf(ref), true
	default:
		node = CanonicalLock(ref) // lockdep spellings of the mm locks
		if l := c.locks[ref]; l != nil && l.Kind.V == "ww_mutex" {
			ww = true
			if l.WWClass.V != "" {
				node = l.WWClass.V + "_mutex"
			}
		}
		if ref == WWMutex {
			ww = true
		}
	}
	return node, obj, ww
}

// bound runs f with the path parameter bound to obj.
func (c *compiler) bound(obj string, f func()) {
	saved := c.bind
	c.bind = obj
	f()
	c.bind = saved
}

// perObject names the instance of a per-object lock class (per:,
// instances:): "class[obj]" for the instance and for the precise graph's
// node. Lockdep mode maps it back with ClassOf. Without a bound object the
// class is collapsed (see collapse).
func (c *compiler) perObject(o *Op, l *model.Lock, ref, of string) {
	if l == nil || (l.Per.V == "" && len(l.Instances) == 0) {
		return
	}
	if of == "" || strings.HasPrefix(of, "$") {
		c.collapsed[ref] = true
		o.Inst = ref
		return
	}
	o.Inst = ref + "[" + of + "]"
	o.Lock += "[" + of + "]"
	o.LockID = 0 // an instance node, not interned
	o.Text += " of " + of
}

// collapse turns the instance nodes of a class that some path takes without
// a bound instance back into the class node: a class-level node stands for
// every instance, and mixing it with instance nodes would lose edges.
func (c *compiler) collapse() {
	if len(c.collapsed) == 0 {
		return
	}
	fix := func(ops []Op) {
		for i := range ops {
			if j := instanceOpen(ops[i].Lock); j > 0 && c.collapsed[baseClass(ops[i].Lock)] {
				ops[i].Lock = ops[i].Lock[:j]
				ops[i].LockID = 0
			}
		}
	}
	for _, t := range c.p.Threads {
		fix(t.Ops)
	}
	fix(c.p.Reclaim)
}

// baseClass strips the instance and the subclass from a lock node.
func baseClass(node string) string {
	node = ClassOf(node)
	if i := strings.LastIndexByte(node, '/'); i > 0 {
		if _, err := strconv.Atoi(node[i+1:]); err == nil {
			return node[:i]
		}
	}
	return node
}

// InstanceOf names the lock instance a step refers to: the object's dma_resv
// ("resv:OBJ") when the reference is a buffer-like object, else the lock
// itself. A subclass does not change a named instance: mutex_lock_nested(&m,
// 1) takes the same mutex m (include/linux/mutex.h), only lockdep's class
// differs.
func InstanceOf(ref, obj string) string {
	if obj != "" {
		return "resv:" + obj
	}
	return ref
}

// ClassOf maps a lock instance or an instance node ("class[obj]",
// "class/N[obj]") to the lock class lockdep sees, subclass included: every
// dma_resv is reservation_ww_class_mutex (K7), every instance of a
// per-object class is its class. Lockdep mode needs nothing else to ignore
// instances.
func ClassOf(inst string) string {
	if strings.HasPrefix(inst, "resv:") {
		return WWMutex
	}
	if strings.HasSuffix(inst, "]") {
		if i := instanceOpen(inst); i > 0 {
			return inst[:i]
		}
	}
	return inst
}

// LockKind returns the declared kind of a lock class node ("" for builtins
// and resvs). Subclass nodes ("name/1") have their class's kind.
func (p *Program) LockKind(node string) string {
	node = ClassOf(node)
	if k, ok := p.lockKinds[node]; ok {
		return k
	}
	if i := strings.LastIndexByte(node, '/'); i > 0 {
		return p.lockKinds[node[:i]]
	}
	return ""
}

// IRQSafe reports whether a lock class is declared irq_safe.
func (p *Program) IRQSafe(node string) bool { return p.irqSafe[ClassOf(node)] }

// readMode is the acquisition mode of a read lock by kind and context:
// rwsem readers are not recursive; rwlock readers are recursive only in
// interrupt context with queued rwlocks (read_lock_is_recursive() in
// kernel/locking/lockdep.c, since the v5.10 recursive-read rework:
// force_read_lock_recursive || !CONFIG_QUEUED_RWLOCKS || in_interrupt()).
// The self-test forces recursion; its port says recursive_read.
func (c *compiler) readMode(ref, ctx string) Mode {
	if l := c.locks[ref]; l != nil && l.Kind.V == "rwlock" && IsInterruptContext(ctx) {
		return RecursiveRead
	}
	if l := c.locks[ref]; l != nil && l.Kind.V == "srcu" {
		return RecursiveRead
	}
	return Read
}

const maxInline = 32

// objectOps are the steps that act on one named object (buffer, userptr,
// VM or device) with no further lowering.
var objectOps = map[string]OpKind{
	"pin": OpPin, "unpin": OpUnpin, "map_pages": OpMapPages, "zap_ptes": OpZapPTEs,
	"tlb_flush": OpTLBFlush, "free_pages": OpFreePages, "kfree": OpFreePages, "read_begin": OpReadBegin,
	"read_retry": OpReadRetry, "set_seq": OpSetSeq, "register_notifier": OpRegNotifier,
	"vm_update": OpVMUpdate, "write_ptes": OpWritePTE,
}

// kernelName is the kernel function a step stands for, when reports should
// name it rather than the step.
var kernelName = map[string]string{
	"read_begin":        "mmu_interval_read_begin",
	"register_notifier": "mmu_interval_notifier_insert",
	"kfree":             "kfree",
}

// expand lowers a path's steps to ops, inlining call: steps.
func (c *compiler) expand(p *model.Path, ctx string, depth int, primed bool) []Op {
	if p == nil || depth > maxInline {
		return nil
	}
	// This expansion's step list is carved from the slab and given back
	// when it returns; its callees' lists are carved after it.
	start := len(c.stepSlab)
	defer func() { c.stepSlab = c.stepSlab[:start] }()
	steps := c.repeated(p.Steps)
	if c.budget -= int64(len(steps)); c.budget < 0 {
		c.p.OverBudget = true
		return nil
	}
	ops := make([]Op, 0, len(steps))
	here := NewPlace(p.Name.V, ctx)
	// A $PARAM operand names the object the path is bound to; unbound (a
	// coverage walk of a path nothing binds) it stays "$PARAM", "some
	// object".
	arg := func(x string) string {
		if strings.HasPrefix(x, "$") && c.bind != "" {
			return c.bind
		}
		return x
	}
	// Failure branches: where each step's ops start (label targets), and
	// the ops of this path (not of inlined callees) that can fail.
	var stepAt map[string]int // made at the path's first label
	type failing struct {
		op     int
		target string
	}
	var fails []failing
	for _, s := range steps {
		op, v := s.Operation()
		v.V = arg(v.V)
		if _, seen := stepAt[s.Label.V]; s.Label.V != "" && !seen {
			if stepAt == nil {
				stepAt = map[string]int{}
			}
			stepAt[s.Label.V] = len(ops) // a repeated step's label is its first copy
		}
		if op == "trylock" || (op == "get" && s.UnlessZero.V) {
			target := s.OnFail.V
			if target == "" {
				target = model.OnFailReturn
			}
			fails = append(fails, failing{len(ops), target})
		}
		o := Op{Pos: v.P, place: here, Primed: primed, Interruptible: s.Interruptible.V}
		lc := lockStep(op)
		if lc {
			// The text of a lock step is its reference's, built once per
			// reference and operation (below).
		} else {
			o.Text = op + ": " + v.V
		}
		if !lc && isSyncStep(op) {
			if more, ok := c.syncStep(s, op, v, o); ok {
				ops = append(ops, more...)
				continue
			}
		}
		if k, ok := objectOps[op]; ok {
			// An operation on a named object; the loader has already
			// rejected modifiers that do not apply to it.
			o.Kind, o.Atomic = k, s.Atomic.V
			x := o.Mut()
			x.Obj, x.VM, x.VMOp = v.V, s.VM.V, s.Op.V
			for _, r := range s.Range {
				x.Range = append(x.Range, r.V)
			}
			if name := kernelName[op]; name != "" {
				o.Text = name + "(" + v.V + ")"
			}
			ops = append(ops, o)
			continue
		}
		switch op {
		case "lock", "trylock", "might_lock":
			lc := c.lockRef(v.V)
			o.Text = lc.text(op, v.V)
			node, obj, ww := lc.node, lc.obj, lc.ww
			if s.Subclass.V != 0 {
				node = fmt.Sprintf("%s/%d", node, s.Subclass.V)
			} else {
				o.LockID = lc.id
			}
			o.Lock, o.Inst = node, InstanceOf(v.V, obj)
			if obj == "" && s.Subclass.V != 0 {
				// Without a named instance, *_lock_nested on a class the
				// thread holds is how code takes a second object of it:
				// another instance, as the graph's "name/N" node says.
				o.Inst = node
			}
			if lc.perObject {
				c.perObject(&o, lc.decl, v.V, arg(s.Of.V))
			}
			o.Kind = OpAcquire
			if op == "might_lock" {
				o.Kind = OpMight
			}
			o.Try = op == "trylock"
			if lc.srcu && op != "might_lock" {
				o.Mode = RecursiveRead // srcu_read_lock(): lock_map_acquire_read()
			}
			switch s.Mode.V {
			case "read":
				o.Mode = c.readMode(v.V, ctx)
			case "recursive_read":
				o.Mode = RecursiveRead
			}
			o.Unpublished = s.Unpublished.V || c.unpublished(obj)
			// Most lock steps name none of these: leave the op without
			// operands then (Op's comment).
			if obj != "" || s.NestLock.V != "" || s.Ctx.V != "" || s.IRQ.V != "" {
				x := o.Mut()
				x.Obj, x.Ctx, x.IRQ = obj, s.Ctx.V, s.IRQ.V
				if s.NestLock.V != "" {
					x.NestLock, _, _ = c.lockNode(s.NestLock.V, 0)
				}
				if ww && x.Ctx != "" {
					x.NestLock = WWAcquire // the ctx's map is the nest_lock (K7)
				}
			}
		case "sync":
			// synchronize_srcu(): lock_map_sync(), a write acquire that is
			// released at once and adds no dependency out of it.
			o.Kind, o.Lock, o.Sync = OpMight, v.V, true
			o.Text = "synchronize_srcu(" + v.V + ")"
		case "unlock":
			lc := c.lockRef(v.V)
			o.Text = lc.text(op, v.V)
			o.Kind, o.Lock, o.LockID, o.Inst = OpRelease, lc.node, lc.id, InstanceOf(v.V, lc.obj)
			o.setObjIRQ(lc.obj, s.IRQ.V)
			if lc.perObject {
				c.perObject(&o, lc.decl, v.V, arg(s.Of.V))
			}
		case "assert_held":
			lc := c.lockRef(v.V)
			o.Kind, o.Lock, o.LockID, o.Inst = OpAssertHeld, lc.node, lc.id, InstanceOf(v.V, lc.obj)
			o.setObjIRQ(lc.obj, "")
			o.Text = "lockdep_assert_held(" + v.V + ")"
			c.perObject(&o, lc.decl, v.V, arg(s.Of.V))
		case "local_irq":
			o.Kind, o.Mut().Scope = OpLocalIRQ, v.V
			o.Text = "local_irq_" + v.V + "()"
		case "local_bh":
			o.Kind, o.Mut().Scope = OpLocalBH, v.V
			o.Text = "local_bh_" + v.V + "()"
		case "ww_acquire_init":
			o.Kind, o.Lock, o.Mut().Ctx = OpWWInit, WWAcquire, v.V
			if s.WWClass.V != "" {
				o.Lock = s.WWClass.V + "_acquire"
			}
		case "ww_acquire_done":
			o.Kind, o.Mut().Ctx = OpWWDone, v.V
		case "ww_acquire_fini":
			o.Kind, o.Lock, o.Mut().Ctx = OpWWFini, WWAcquire, v.V
		case "alloc":
			o.Kind = OpAlloc
			o.GFP, _ = model.ParseGFP(v.V)
			o.NoLockdep = s.Nolockdep.V
			o.Text = "kmalloc(" + v.V + ")"
		case "memalloc_save":
			o.Kind, o.Mut().Scope = OpScopeSave, v.V
			o.Text = "memalloc_" + v.V + "_save()"
		case "memalloc_restore":
			o.Kind, o.Mut().Scope = OpScopeRest, v.V
			o.Text = "memalloc_" + v.V + "_restore()"
		case "wait":
			o.Kind, o.Mut().Fence = OpWait, c.fenceName(v.V)
			o.Text = "dma_fence_wait(" + o.Ext().Fence + ")"
		case "wait_resv":
			o.Kind = OpWaitResv
			x := o.Mut()
			x.Obj, x.Usage = c.resvOf(v.V), s.Usage.V
			if x.Usage == "" {
				x.Usage = "BOOKKEEP"
			}
			o.Text = fmt.Sprintf("dma_resv_wait_timeout(%s, %s)", o.Ext().Obj, o.Ext().Usage)
		case "signal":
			o.Kind, o.Mut().Fence = OpSignal, c.fenceName(v.V)
			o.Text = "dma_fence_signal(" + o.Ext().Fence + ")"
		case "begin_signalling":
			o.Kind, o.Mut().Fence = OpBeginSig, c.fenceName(v.V)
			o.Text = "dma_fence_begin_signalling() for " + o.Ext().Fence
		case "end_signalling":
			o.Kind, o.Mut().Fence = OpEndSig, c.fenceName(v.V)
			o.Text = "dma_fence_end_signalling() for " + o.Ext().Fence
		case "reserve_fences":
			o.Kind, o.Mut().Obj = OpReserve, c.resvOf(v.V)
			o.Count = 1
			if s.Count.Set {
				o.Count = int32(s.Count.V) // the loader bounds it to 65536
			}
			o.Text = fmt.Sprintf("dma_resv_reserve_fences(%s, %d)", o.Ext().Obj, o.Count)
		case "add_fence", "replace_fences":
			o.Kind = OpAddFence
			if op == "replace_fences" {
				o.Kind = OpReplace
			}
			x := o.Mut()
			x.Obj, x.Fence, x.Usage = c.resvOf(v.V), c.fenceName(s.Fence.V), s.Usage.V
			if x.Usage == "" {
				x.Usage = "READ"
			}
			o.Text = fmt.Sprintf("dma_resv_%s(%s, %s, %s)", map[bool]string{true: "replace_fences", false: "add_fence"}[op == "replace_fences"], x.Obj, x.Fence, x.Usage)
		case "evict":
			o.Kind = OpEvict
			x := o.Mut()
			x.Obj, x.Buffer = c.resvOf(v.V), v.V
		case "submit":
			o.Kind = OpSubmit
			x := o.Mut()
			x.Job, x.Fence = v.V, c.p.Jobs[v.V].Fence
		case "queue_work":
			o.Kind, o.Mut().Path = OpQueueWork, v.V
		case "mmput":
			// mmput() of what may be the last user: exit_mmap() ->
			// mmu_notifier_release() runs every notifier's release
			// callback in this thread (kernel/fork.c __mmput, mm/mmap.c
			// exit_mmap, mm/mmu_notifier.c __mmu_notifier_release).
			for _, u := range c.f.Userptrs {
				if u.Release.V != "" {
					ops = append(ops, c.expand(c.paths[u.Release.V], ctx, depth+1, primed)...)
				}
			}
			continue
		case "mmput_async":
			continue // __mmput runs from a worker (mmput_async_fn): no dependency here
		case "call":
			callee := c.paths[v.V]
			if callee != nil && callee.Param.V != "" {
				c.bound(arg(s.With.V), func() { ops = append(ops, c.expand(callee, ctx, depth+1, primed)...) })
			} else {
				saved := c.bind
				c.bind = ""
				ops = append(ops, c.expand(callee, ctx, depth+1, primed)...)
				c.bind = saved
			}
			continue
		case "get":
			o.Kind, o.Mut().Obj, o.Try = OpGet, v.V, s.UnlessZero.V
			if o.Try {
				o.Text = "kref_get_unless_zero(" + v.V + ")"
			} else {
				o.Text = "kref_get(" + v.V + ")"
			}
		case "put":
			o.Kind, o.Mut().Obj, o.Text = OpPut, v.V, "kref_put("+v.V+")"
			if b := c.buffers[v.V]; b != nil && b.Free.V != "" && depth < maxInline {
				if fp := c.paths[b.Free.V]; fp != nil {
					c.bound(v.V, func() { o.Mut().Then = c.expand(fp, ctx, depth+1, primed) })
				}
			}
		case "sleep":
			o.Kind = OpSleep
		case "fail":
			o.Kind = OpFail
		default:
			continue
		}
		ops = append(ops, o)
	}
	// A failed step continues at its label, or returns from this path:
	// past its last op, which is also right for a path inlined by call:.
	for _, f := range fails {
		to, ok := stepAt[f.target]
		if !ok {
			to = len(ops)
		}
		if to-f.op > math.MaxInt32 {
			c.p.OverBudget = true // Op.FailTo is an int32
			return nil
		}
		ops[f.op].FailTo = int32(to - f.op)
	}
	if depth == 0 {
		wwClasses(ops)
	}
	return ops
}

// wwClasses gives each acquire context the class of the ww mutexes it
// locks: ww_acquire_init(ctx, ww_class) acquires ctx->dep_map in class
// <ww_class>_acquire (include/linux/ww_mutex.h), and that map is the
// nest_lock of the mutexes locked under it. A context that locks nothing
// keeps reservation_ww_class (dma_resv). The loader rejects a context used
// with two classes.
func wwClasses(ops []Op) {
	class := map[string]string{}
	for i := range ops {
		if o := &ops[i]; o.Kind == OpWWInit && o.Lock != WWAcquire {
			class[o.Ext().Ctx] = o.Lock // declared ww_class:
		}
	}
	for i := range ops {
		if o := &ops[i]; o.Kind == OpAcquire && o.Ext().Ctx != "" && o.Ext().NestLock == WWAcquire {
			if _, ok := class[o.Ext().Ctx]; !ok {
				base, _, _ := strings.Cut(o.Lock, "/")
				class[o.Ext().Ctx] = strings.TrimSuffix(base, "_mutex") + "_acquire"
			}
		}
	}
	for i := range ops {
		o := &ops[i]
		c, ok := class[o.Ext().Ctx]
		if !ok || c == WWAcquire {
			continue
		}
		switch {
		case o.Kind == OpWWInit || o.Kind == OpWWFini:
			o.Lock = c
		case o.Kind == OpAcquire && o.Ext().NestLock == WWAcquire:
			o.Mut().NestLock = c
		}
	}
}
