package exec

// drm_sched, engines and fences: job readiness, completion, signalling,
// timeouts and GPU faults.

import (
	"fmt"
	"slices"

	"github.com/fencecheck/fencecheck/internal/diag"
	"github.com/fencecheck/fencecheck/internal/kernel"
	"github.com/fencecheck/fencecheck/internal/model"
	"github.com/fencecheck/fencecheck/internal/rules"
)

// published says whether userspace can hold the fence yet: a job's fence
// exists once the job is armed; other fences exist from the start.
func (s *sim) published(fence string) bool {
	fi := s.p.Fences[fence]
	if fi == nil || fi.Job == "" {
		return true
	}
	return s.jobs[fi.Job].submitted
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
	return js.info.Faults && s.gpu.Faulting(js.info.Device)
}

// fallback runs what only happens when nothing else can: a hung job's
// timeout fires (R17), or a foreign fence is signalled by its driver.
func (s *sim) fallback() bool {
	for _, n := range s.gpu.Names() {
		e := s.gpu.Lookup(n)
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

// engineOf names the engine a job runs on (an entity without one has its
// own).
func (s *sim) engineOf(j *jobState) string {
	if j.info.Engine != "" {
		return j.info.Engine
	}
	return "engine(" + j.info.Entity + ")"
}

// completeHead completes the engine's head job: the hardware fence signals
// from the completion interrupt (R16), then callbacks and free_job run.
func (s *sim) completeHead(engine string, forced bool) {
	j := s.gpu.Pop(engine, func(job string) int64 { return s.jobs[job].info.Duration })
	if j == "" {
		return
	}
	js := s.jobs[j]
	js.done = true
	s.changed("fault", js.info.Device) // no fault comes from it now
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
	s.jobsChanged()
	wakeAll(s, s.fenceWaiters, fence)
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
	if s.explore {
		// The scheduler's work item (drm_sched_run_job_work, woken by
		// drm_sched_wakeup) is an actor of its own: what it starts does
		// not depend on who woke it.
		return
	}
	// Only the jobs submitted and not started can start, and only those
	// started can keep their scheduler busy: both are kept as they change
	// (runSubmit, below), so that a call costs what is in flight rather
	// than every job of the design.
	busy := map[string]bool{} // schedulers whose run_job is running
	running := s.runningJobs[:0]
	for _, js := range s.runningJobs {
		if !js.runThread.done {
			busy[js.info.Scheduler] = true
			running = append(running, js)
		}
	}
	clear(s.runningJobs[len(running):])
	s.runningJobs = running
	pending := s.pendingJobs[:0]
	defer func() { s.pendingJobs = pending }()
	for _, ji := range s.pendingJobs {
		name := s.p.JobOrder[ji]
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
			pending = append(pending, ji)
			continue
		}
		js.started = true
		s.jobsChanged()
		busy[js.info.Scheduler] = true
		th := s.roleThread("job-run:" + name)
		if th == nil {
			th = &kernel.Thread{Name: "run_job(" + name + ")", Context: model.CtxRunJob, Pos: js.info.Pos}
		}
		nt := s.spawn(th, "run_job")
		nt.job = name
		js.runThread = nt
		s.runningJobs = append(s.runningJobs, js)
	}
}

// schedNames lists the schedulers of the program's jobs, sorted.
func (s *sim) schedNames() []string {
	if s.scheds == nil {
		s.schedIdx = map[string]int{}
		for _, name := range s.p.JobOrder {
			if sc := s.jobs[name].info.Scheduler; !slices.Contains(s.scheds, sc) {
				s.scheds = append(s.scheds, sc)
			}
		}
		slices.Sort(s.scheds)
		s.schedJobs = make([][]string, len(s.scheds))
		s.readyCache = make([]readyMemo, len(s.scheds))
		for i, sc := range s.scheds {
			s.schedIdx[sc] = i
		}
		for _, name := range s.p.JobOrder {
			i := s.schedIdx[s.jobs[name].info.Scheduler]
			s.schedJobs[i] = append(s.schedJobs[i], name)
		}
	}
	return s.scheds
}

// readyMemo is nextReady's answer for one scheduler, valid while
// s.jobsVer is ver.
type readyMemo struct {
	ver        uint64
	valid      bool
	job, waits string
}

// jobsChanged records that something nextReady reads changed: a job was
// submitted or started, a run_job thread returned, a fence signalled.
func (s *sim) jobsChanged() { s.jobsVer++ }

// nextReady is the job the scheduler's run_job work would start now, or ""
// and what it waits for ("fence:F", "sched:S" while a run_job runs or an
// earlier job of the entity has not started, "" if nothing is queued).
// Same rules as readyJobs. The answer is kept until jobsChanged.
func (s *sim) nextReady(sched string) (job, waits string) {
	s.schedNames()
	i, ok := s.schedIdx[sched]
	if !ok {
		return "", ""
	}
	return s.nextReadyAt(i)
}

// nextReadyAt is nextReady of the i-th scheduler of schedNames.
func (s *sim) nextReadyAt(i int) (job, waits string) {
	sched := s.scheds[i]
	m := &s.readyCache[i]
	if !m.valid || m.ver != s.jobsVer {
		m.job, m.waits = s.computeNextReady(sched, s.schedJobs[i])
		m.ver, m.valid = s.jobsVer, true
	}
	return m.job, m.waits
}

// computeNextReady is nextReady over the scheduler's jobs (in JobOrder).
func (s *sim) computeNextReady(sched string, jobs []string) (job, waits string) {
	for _, name := range jobs {
		js := s.jobs[name]
		if js.runThread != nil && !js.runThread.done {
			return "", "sched:" + sched
		}
	}
	for _, name := range jobs {
		js := s.jobs[name]
		if !js.submitted || js.started {
			continue
		}
		ok := true
		for _, prev := range s.entityQ[js.info.Entity] {
			if prev == name {
				break
			}
			if !s.jobs[prev].started {
				ok = false
			}
		}
		if !ok {
			if waits == "" {
				waits = "sched:" + sched
			}
			continue
		}
		for _, d := range js.info.Deps {
			if d.Kind != "entity-order" && !s.fences[d.On] {
				ok = false
				if waits == "" {
					waits = "fence:" + d.On
				}
				break
			}
		}
		if ok {
			return name, ""
		}
	}
	return "", waits
}

// startJob spawns run_job for a ready job (the scheduler's work item).
func (s *sim) startJob(name string) {
	js := s.jobs[name]
	js.started = true
	s.jobsChanged()
	th := s.roleThread("job-run:" + name)
	if th == nil {
		th = &kernel.Thread{Name: "run_job(" + name + ")", Context: model.CtxRunJob, Pos: js.info.Pos}
	}
	nt := s.spawn(th, "run_job")
	nt.job = name
	js.runThread = nt
}

func runWait(s *sim, t *thread, f *frame, o *kernel.Op) bool {
	if !s.fences[o.Ext().Fence] {
		s.block(t, &blockOn{kind: "fence", fence: o.Ext().Fence, op: o})
		return false
	}
	s.event2(t, "wait", o.Text, " (signalled)", o.Pos)
	return true
}

func runSignal(s *sim, t *thread, f *frame, o *kernel.Op) bool {
	s.signal(t, o.Ext().Fence, o.Pos, o.Text)
	return true
}

func runBeginSig(s *sim, t *thread, f *frame, o *kernel.Op) bool {
	t.held = append(t.held, held{name: o.Ext().Fence, section: true, fence: o.Ext().Fence, mode: kernel.Read, pos: o.Pos, path: o.InPath()})
	s.event(t, "begin_signalling", o.Text, o.Pos)
	return true
}

func runEndSig(s *sim, t *thread, f *frame, o *kernel.Op) bool {
	for i := len(t.held) - 1; i >= 0; i-- {
		if t.held[i].section && t.held[i].fence == o.Ext().Fence {
			t.held = append(t.held[:i], t.held[i+1:]...)
			break
		}
	}
	s.event(t, "end_signalling", o.Text, o.Pos)
	return true
}

func runSubmit(s *sim, t *thread, f *frame, o *kernel.Op) bool {
	if js := s.jobs[o.Ext().Job]; js != nil && !js.submitted {
		js.submitted = true
		s.jobsChanged()
		s.changed("job", o.Ext().Job) // its fence is published
		s.entityQ[js.info.Entity] = append(s.entityQ[js.info.Entity], o.Ext().Job)
		s.entitySq[js.info.Entity]++
		s.seqno[js.info.Fence] = s.entitySq[js.info.Entity]
		s.event(t, "submit", o.Text, o.Pos)
		if !s.explore {
			i := js.order
			at, _ := slices.BinarySearch(s.pendingJobs, i)
			s.pendingJobs = slices.Insert(s.pendingJobs, at, i)
		}
		s.readyJobs()
	}
	return true
}

func runQueueWork(s *sim, t *thread, f *frame, o *kernel.Op) bool {
	for _, th := range s.p.Threads {
		if th.Root == o.Ext().Path && !th.Workload {
			nt := s.spawn(th, "")
			nt.worker = o.Ext().Path
			s.changed("work", o.Ext().Path) // flush_work waits for it now
			break
		}
	}
	s.event(t, "queue_work", o.Text, o.Pos)
	return true
}

func runFlushWork(s *sim, t *thread, f *frame, o *kernel.Op) bool {
	for _, w := range s.threads {
		if w.worker == o.Ext().Path && !w.done {
			t.blocked = &blockOn{kind: "work", inst: o.Ext().Path, op: o}
			return false
		}
	}
	s.event(t, "flush_work", o.Text, o.Pos)
	return true
}

func footWait(s *sim, t *thread, o *kernel.Op) []string {
	return []string{"?fence:" + o.Ext().Fence}
}

func footSignal(s *sim, t *thread, o *kernel.Op) []string {
	return s.signalFoot(o.Ext().Fence)
}

func footSubmit(s *sim, t *thread, o *kernel.Op) []string {
	// Arms the fence (its seqno in the context) and queues the job.
	js := s.jobs[o.Ext().Job]
	if js == nil {
		return nil
	}
	return []string{"submitted:" + o.Ext().Job, "queue:" + js.info.Entity, "fencectx:" + s.ctxOf(js.info.Fence)}
}

func footQueueWork(s *sim, t *thread, o *kernel.Op) []string {
	return []string{"spawn:worker:" + o.Ext().Path}
}

// registered in transitions.go
func init() {
	stepKinds[kernel.OpBeginSig] = stepKind{run: runBeginSig, foot: footPrivate}
	stepKinds[kernel.OpEndSig] = stepKind{run: runEndSig, foot: footPrivate}
	stepKinds[kernel.OpFail] = stepKind{run: nil, foot: footPrivate}
	stepKinds[kernel.OpFlushWQ] = stepKind{run: nil, foot: footPrivate}
	stepKinds[kernel.OpFlushWork] = stepKind{run: runFlushWork, foot: nil}
	stepKinds[kernel.OpQueueWork] = stepKind{run: runQueueWork, foot: footQueueWork}
	stepKinds[kernel.OpSignal] = stepKind{run: runSignal, foot: footSignal}
	stepKinds[kernel.OpSleep] = stepKind{run: nil, foot: footPrivate}
	stepKinds[kernel.OpSubmit] = stepKind{run: runSubmit, foot: footSubmit}
	stepKinds[kernel.OpWait] = stepKind{run: runWait, foot: footWait, footTag: tagOp}
}
