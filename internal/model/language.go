package model

import (
	"fmt"

	"github.com/fencecheck/fencecheck/internal/rules"
)

// lockKindOf is the declared kind of a lock class ("" for built-ins and
// objects).
func (v *validator) lockKindOf(name string) string {
	if _, locks := v.tables(); locks[name] != nil {
		return locks[name].Kind.V
	}
	return ""
}

// srcuLock says whether name is a declared srcu lock; without any, no
// lookup.
func (v *validator) srcuLock(name string) bool {
	if v.tables(); !v.anySRCU {
		return false
	}
	return v.lockKindOf(name) == "srcu"
}

// pathContext is the declared context of a path ("" if unknown).
func (v *validator) pathContext(name string) string {
	if paths, _ := v.tables(); paths[name] != nil {
		return paths[name].Context.V
	}
	return ""
}

// checkLanguage checks the steps for completions, workqueues and SRCU:
// each names an object of the right sort, used the way the kernel API
// allows.
func (v *validator) checkLanguage(p *Path, s *Step, op string, val Str) {
	switch op {
	case "synchronize_srcu":
		if k := v.lockKindOf(val.V); k != "srcu" && v.sc.Kinds[val.V] == "lock" {
			v.errorf(rules.BadStep, val.P, "synchronize_srcu: %q is a %s, not an srcu lock (declare it with kind: srcu)", val.V, kindOrBuiltin(k))
		}
	case "lock", "trylock", "might_lock":
		if !v.srcuLock(val.V) {
			return
		}
		if op == "trylock" {
			v.errorf(rules.BadStep, val.P, "srcu %q has no trylock: srcu_read_lock never blocks", val.V)
		}
		if s.Mode.V == "write" {
			v.errorf(rules.BadStep, s.Mode.P, "mode: write on srcu %q: srcu_read_lock is always a reader; the update side is a synchronize_srcu step", val.V)
		}
	case "flush_work", "cancel_work_sync":
		if c := v.pathContext(val.V); c != "" && c != CtxWorker && c != CtxTimedoutJob {
			v.errorf(rules.BadStep, val.P, "%s: path %q runs in %s context: only a work item (a worker, or a scheduler's timedout_job) can be flushed", op, val.V, c)
		}
	}
}

// checkWorkqueues: only a work item is queued on a workqueue.
func (v *validator) checkWorkqueues() {
	for i := range v.sc.File.Paths {
		p := &v.sc.File.Paths[i]
		if p.Workqueue.V != "" && p.Context.V != CtxWorker {
			v.errorf(rules.BadStep, p.Workqueue.P, "workqueue: path %q runs in %s context; only a worker path is queued on a workqueue", p.Name.V, p.Context.V)
		}
	}
}

func kindOrBuiltin(k string) string {
	if k == "" {
		return "built-in lock"
	}
	return k
}

// checkSchedulers: with timeout: infinite the scheduler never times a job
// out, so a timedout_job path could never run.
func (v *validator) checkSchedulers() {
	for _, d := range v.sc.File.Devices {
		for _, s := range d.Schedulers {
			if s.Lockup.V == "infinite" && s.Timeout.V != "" {
				v.errorf(rules.BadStep, s.Lockup.P, "scheduler %q: timeout: infinite never times a job out, so timedout_job %q never runs; drop one of them", s.Name.V, s.Timeout.V)
			}
		}
	}
}

// checkNoFenceJobs: a job with dma_fence: false publishes no fence, so
// nothing may wait on, depend on or signal it.
func (v *validator) checkNoFenceJobs() {
	f := v.sc.File
	none := map[string]string{}
	for _, j := range f.Jobs {
		if j.DmaFence.Set && !j.DmaFence.V {
			none[j.Name.V] = j.Name.V
			none[j.Fence.V] = j.Name.V
		}
	}
	if len(none) == 0 {
		return
	}
	bad := func(ref Str, what string) {
		if job, ok := none[ref.V]; ok {
			v.errorf(rules.BadStep, ref.P, "%s %q: job %s has dma_fence: false and publishes no fence to wait on", what, ref.V, job)
		}
	}
	for _, j := range f.Jobs {
		for _, d := range j.Deps {
			bad(d, "deps:")
		}
	}
	for _, p := range f.Paths {
		for _, s := range p.Signals {
			bad(s, "signals:")
		}
		for i := range p.Steps {
			st := &p.Steps[i]
			switch op, r := st.Operation(); op {
			case "wait", "signal", "begin_signalling", "end_signalling":
				if r.V != "" {
					bad(r, "fence")
				}
			}
			if st.Fence.V != "" {
				bad(st.Fence, "fence")
			}
		}
	}
}

// checkCompositeFences: a fence is a plain fence, an array or a chain
// link; a chain link names its previous link and its fence.
func (v *validator) checkCompositeFences() {
	for _, f := range v.sc.File.Fences {
		if len(f.Array) > 0 && len(f.Chain) > 0 {
			v.errorf(rules.BadStep, f.Chain[0].P, "fence %q: a fence is a dma_fence_array or a dma_fence_chain link, not both", f.Name.V)
		}
		if len(f.Chain) > 2 {
			v.errorf(rules.BadStep, f.Chain[2].P, "fence %q: a chain link names [previous link, fence] (or [fence] for the first link)", f.Name.V)
		}
		for _, c := range append(append(StrList{}, f.Array...), f.Chain...) {
			if c.V == f.Name.V {
				v.errorf(rules.BadStep, c.P, "fence %q cannot contain itself", f.Name.V)
			}
		}
	}
}

// expandJobCounts turns a job with count: N into N jobs NAME[0..N-1]
// (fences FENCE[i]), in place and in order, before names are declared, so
// that everything downstream sees ordinary jobs. A workload submit: of the
// counted job submits every copy in order; any other reference must name
// a copy (the undeclared-name error suggests one).
func (v *validator) expandJobCounts() {
	f := v.sc.File
	counted := map[string]int{}
	var jobs []Job
	for _, j := range f.Jobs {
		n := int(j.Count.V)
		if !j.Count.Set || n <= 1 || j.Name.V == "" {
			jobs = append(jobs, j)
			continue
		}
		counted[j.Name.V] = n
		v.dropDecl("job", j.Name)
		if j.Fence.V != "" {
			v.dropDecl("fence", j.Fence)
		}
		for i := 0; i < n; i++ {
			c := j
			c.Name = Str{V: fmt.Sprintf("%s[%d]", j.Name.V, i), P: j.Name.P}
			if j.Fence.V != "" {
				c.Fence = Str{V: fmt.Sprintf("%s[%d]", j.Fence.V, i), P: j.Fence.P}
				v.d.decls = append(v.d.decls, declRec{kind: "fence", name: c.Fence})
			}
			v.d.decls = append(v.d.decls, declRec{kind: "job", name: c.Name})
			jobs = append(jobs, c)
		}
	}
	if len(counted) == 0 {
		return
	}
	f.Jobs = jobs
	v.counted = counted
	var wl []Action
	for _, a := range f.Workload {
		n, ok := counted[a.Submit.V]
		if !ok {
			wl = append(wl, a)
			continue
		}
		v.dropRef(a.Submit)
		for i := 0; i < n; i++ {
			c := a
			c.Submit = Str{V: fmt.Sprintf("%s[%d]", a.Submit.V, i), P: a.Submit.P}
			wl = append(wl, c)
		}
	}
	f.Workload = wl
}

func (v *validator) dropDecl(kind string, name Str) {
	for i, d := range v.d.decls {
		if d.kind == kind && d.name == name {
			v.d.decls = append(v.d.decls[:i], v.d.decls[i+1:]...)
			return
		}
	}
}

func (v *validator) dropRef(name Str) {
	for i, r := range v.d.refs {
		if r.name == name {
			v.d.refs = append(v.d.refs[:i], v.d.refs[i+1:]...)
			return
		}
	}
}
