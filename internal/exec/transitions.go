package exec

import "github.com/fencecheck/fencecheck/internal/kernel"

// A step kind's transition: how the executor runs a step of that kind and
// what the step touches. Each object kind's file registers its step kinds
// (locks.go: locks and ww contexts; jobs.go: fences, jobs, the scheduler
// and work items; resv.go: dma_resv; memory.go: allocation, reclaim,
// pages and references; mmu.go: userptrs and notifiers; gpu.go: page
// tables and VMs). The interpreter (exec) and the explorer's footprints
// (opFoot) only look the kind up, and the explorer knows none of them: a
// new kind of step touches one file.
type stepKind struct {
	// run takes the step; false if the thread blocked (the step is
	// retried when it can run) or moved to another frame. nil: the step
	// only appears in the trace.
	run func(s *sim, t *thread, f *frame, o *kernel.Op) bool
	// foot is what the step reads or writes in the state it runs in
	// (Transition.Foot); nil: everything.
	foot func(s *sim, t *thread, o *kernel.Op) []string
	// footTag, if set, says what foot's result depends on besides the op
	// (false: more than a footTag holds): opFoot keeps the footprint per
	// op while the tag is the same.
	footTag func(s *sim, t *thread, o *kernel.Op) (footTag, bool)
}

// footTag is what a kept footprint depends on besides its op: nothing
// (tagOp), the hold a release drops (tagRelease), the fence list a wait
// reads (tagWaitResv: resv and n, its first entry and length), or the
// page tables (tagMMU: n, hw.MMU.Version). Tags are compared only between
// footprints of one op, so the kinds may share fields.
type footTag struct {
	inst, key, ctx string
	mode           kernel.Mode
	resv           *resvEntry
	n              uint64
}

// tagOp: the footprint depends on the op and the program alone.
func tagOp(*sim, *thread, *kernel.Op) (footTag, bool) { return footTag{}, true }

var stepKinds [kernel.OpAssertHeld + 1]stepKind

// footPrivate: the step changes nothing another actor sees (memalloc
// scopes, signalling annotations, interrupt state, lockdep-only maps).
func footPrivate(*sim, *thread, *kernel.Op) []string { return []string{} }
