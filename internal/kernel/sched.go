package kernel

import (
	"strings"

	"github.com/fencecheck/fencecheck/internal/model"
)

// prepareAndRun is the scheduler's run work for a job with a prepare_job
// callback: drm_sched_entity_pop_job() -> drm_sched_job_dependency() calls
// ops->prepare_job until it returns no fence, then drm_sched_run_job_work()
// calls ops->run_job (drivers/gpu/drm/scheduler/sched_entity.c, sched_main.c).
// Both run before the job's finished fence can signal, so both are its
// signalling code (R16); the executor runs them as one thread, in order.
func (c *compiler) prepareAndRun(job string, ji *JobInfo) {
	prep := c.paths[ji.PrepareJob]
	if prep == nil {
		return
	}
	c.rooted[ji.PrepareJob] = true
	entry := c.schedHeld(ji.Scheduler, []Held{section(ji.Fence, "prepare_job and run_job of "+job+" (R16)", ji.Pos)})
	entry = append(entry, c.pathSections(prep)...)
	name, ctx := "prepare_job("+job+")", model.CtxPrepareJob
	ops := c.expand(prep, model.CtxPrepareJob, 0, false)
	if run := c.paths[ji.RunJob]; run != nil {
		c.rooted[ji.RunJob] = true
		entry = append(entry, c.pathSections(run)...)
		name, ctx = "run_job("+job+")", model.CtxRunJob
		ops = append(ops, c.expand(run, model.CtxRunJob, 0, false)...)
	}
	c.p.Threads = append(c.p.Threads, &Thread{Name: name, Context: ctx, Root: ji.PrepareJob, Entry: entry,
		Ops: ops, Pos: prep.Name.P, Trigger: "job-run:" + job})
}

// jobSection is the signalling section a job's callback holds for its
// fence; a job without a dma_fence has none (dma-buf.rst "Indefinite DMA
// Fences": only published dma_fences carry the contract).
func (c *compiler) jobSection(ji *JobInfo, why string) []Held {
	if ji.NoFence {
		return nil
	}
	return []Held{section(ji.Fence, why, ji.Pos)}
}

// sharedResourceSections: dma-buf.rst, "Recoverable Hardware Page Faults
// Implications": when engines share hardware (e.g. compute units) and a job
// stalled on a recoverable page fault keeps holding it, a dma_fence job on
// another engine sharing it cannot run until that fault is handled, so the
// device's fault handler is signalling code for that job's fence too. A
// preemptible resource (the faulting job is preempted, or part of it is
// reserved for dma_fence jobs) breaks the dependency.
func (c *compiler) sharedResourceSections(dev string, pos model.Pos) []Held {
	var hs []Held
	for _, r := range c.f.Resources {
		if r.Preemptible.V {
			continue
		}
		on := map[string]bool{}
		for _, e := range r.Engines {
			on[e.V] = true
		}
		faulting := ""
		for _, name := range c.p.JobOrder {
			if ji := c.p.Jobs[name]; ji.Faults && ji.Device == dev && on[ji.Engine] {
				faulting = name
				break
			}
		}
		if faulting == "" {
			continue
		}
		for _, name := range c.p.JobOrder {
			ji := c.p.Jobs[name]
			if ji.NoFence || !on[ji.Engine] || (ji.Faults && ji.Device == dev) {
				continue // no fence, not on the resource, or already gated as the faulting job (R19)
			}
			h := section(ji.Fence, "job "+name+" shares "+r.Name.V+" with "+faulting+", which holds it while its page fault is pending (dma-buf.rst, Recoverable Hardware Page Faults Implications)", pos)
			// No annotation covers a dependency through shared hardware:
			// lockdep cannot see it.
			h.Unannotated = "nothing annotates a dependency through shared hardware"
			hs = append(hs, h)
		}
	}
	return hs
}

// callerContexts maps each called path to the declared contexts of the
// paths that call it (computed once).
func (c *compiler) callerContexts() map[string]map[string]bool {
	if c.callers != nil {
		return c.callers
	}
	c.callers = map[string]map[string]bool{}
	for _, p := range c.f.Paths {
		for si := range p.Steps {
			if op, v := p.Steps[si].Operation(); op == "call" {
				if c.callers[v.V] == nil {
					c.callers[v.V] = map[string]bool{}
				}
				c.callers[v.V][p.Context.V] = true
			}
		}
	}
	return c.callers
}

// repeated lists a path's steps with each step's repeat: count expanded in
// place (the loader bounds the result by --max-steps).
//
// The list is carved from the compiler's slab, a stack: an expansion
// inlining a callee carves the callee's list after its own, which stays
// in place (a slab that grows moves on to a new array; the old one stays
// valid for the lists already carved from it), and each expansion gives
// its list back when it returns (expand).
func (c *compiler) repeated(steps []model.Step) []*model.Step {
	start := len(c.stepSlab)
	for i := range steps {
		for r := int64(0); r < max(steps[i].Repeat.V, 1); r++ {
			c.stepSlab = append(c.stepSlab, &steps[i])
		}
	}
	return c.stepSlab[start:len(c.stepSlab):len(c.stepSlab)]
}

// compositeFences records what a dma_fence_array or dma_fence_chain link
// waits for (drivers/dma-buf/dma-fence-array.c: the array signals when its
// pending count reaches zero; dma-fence-chain.c: a link signals, from
// irq_work, once its fence and the previous link have). Its signalling
// depends on each component: fence -> component dependencies, which the
// jobs' deps (added later, in job order) cannot name before the job fences
// exist, so component names are resolved through fenceName here.
func (c *compiler) compositeFences() {
	for _, f := range c.f.Fences {
		fi := c.p.Fences[f.Name.V]
		if fi == nil {
			continue
		}
		kind, parts := "dma_fence_array", f.Array
		if len(f.Chain) > 0 {
			kind, parts, fi.Chain = "dma_fence_chain", f.Chain, true
		}
		for _, part := range parts {
			on := c.fenceName(part.V)
			fi.Components = append(fi.Components, on)
			fi.Deps = append(fi.Deps, FenceDep{On: on, Pos: part.P, Kind: "dependency",
				Why: kind + " " + f.Name.V + " signals only after " + on})
		}
	}
}

// instanceOpen finds the '[' that opens a node's trailing instance suffix
// ("class[obj]"), matching brackets so that an object named with an index
// (a counted job, "job[2]") stays whole; -1 if the node has none.
func instanceOpen(node string) int {
	if !strings.HasSuffix(node, "]") {
		return -1
	}
	depth := 0
	for i := len(node) - 1; i >= 0; i-- {
		switch node[i] {
		case ']':
			depth++
		case '[':
			if depth--; depth == 0 {
				return i
			}
		}
	}
	return -1
}

// fenceLockHeld: dma_fence_signal() takes fence->lock with
// spin_lock_irqsave() and runs the callbacks under it
// (dma_fence_signal_timestamp_locked(), drivers/dma-buf/dma-fence.c), so a
// callback holds the fence's lock, with interrupts off.
func (c *compiler) fenceLockHeld(lock string, pos model.Pos) []Held {
	if lock == "" {
		return nil
	}
	return []Held{{Lock: lock, Why: "dma_fence_signal holds the fence's lock (spin_lock_irqsave) around its callbacks", Pos: pos}}
}

func (c *compiler) jobFenceLock(job string) string {
	for _, j := range c.f.Jobs {
		if j.Name.V == job {
			return j.FenceLock.V
		}
	}
	return ""
}
