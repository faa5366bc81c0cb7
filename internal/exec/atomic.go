package exec

import (
	"strings"

	"github.com/fencecheck/fencecheck/internal/kernel"
)

// Atomic critical sections: the explorer's lock-aware reduction.
//
// A critical section "lock L; s; unlock L" on a plain lock, where s is one
// step on shared state between steps private to the thread, can run as
// one transition. By Lipton's reduction theorem (R. J. Lipton, "Reduction:
// a method of proving properties of parallel programs", CACM 1975) an
// acquire is a right mover and a release a left mover: another actor's
// step between the acquire and s, or between s and the release, either
// touches L (and cannot run: the lock is held, the actor is parked) or
// commutes with them. So every state the interleavings reach at the
// other actors' steps is reached with the section taken whole.
//
// As one transition the section needs L free and leaves it free: it only
// reads L. Two such sections on one lock whose single steps commute (two
// mmu_interval_set_seq() bumps under the notifier lock, say) are then
// independent, and the explorer runs them in one order instead of every
// order (the reduction LAPOR makes in general: Kokologiannakis, Raad,
// Vafeiadis, "Effective lock handling in stateless model checking",
// OOPSLA 2019). A section that holds L across another scheduling point (a
// second lock, a wait, an allocation that may reclaim) stays step by step.
//
// ww_mutexes and dma_resv locks are left out: Wait-Die compares tickets
// and dma_resv_unlock() drops reserved fence slots (footprint "resvslots"),
// so their acquire and release are not movers.

// privateKinds: steps that touch only the thread's own state in the
// executor (opFoot returns an empty footprint for them whatever the state).
var privateKinds = map[kernel.OpKind]bool{
	kernel.OpScopeSave: true, kernel.OpScopeRest: true, kernel.OpBeginSig: true, kernel.OpEndSig: true,
	kernel.OpLocalIRQ: true, kernel.OpLocalBH: true, kernel.OpAssertHeld: true, kernel.OpWritePTE: true,
}

// sectionKinds: steps that may be the section's one shared step. Each is a
// single state change that never blocks and never pushes a frame, with a
// footprint that does not depend on the locks the thread holds.
var sectionKinds = map[kernel.OpKind]bool{
	kernel.OpSetSeq: true, kernel.OpSignal: true, kernel.OpPin: true, kernel.OpGet: true, kernel.OpPut: true,
	kernel.OpVMUpdate: true, kernel.OpMapPages: true, kernel.OpZapPTEs: true, kernel.OpTLBFlush: true,
}

// atomicSection says whether t's next step starts a critical section that
// can run as one transition; n is the number of steps through the release
// foot its footprint and rel what it signals (Transition.Releases: it
// leaves L as it found it).
func (s *sim) atomicSection(t *thread) (n int, foot, rel []string, ok bool) {
	if len(t.frames) == 0 {
		return 0, nil, nil, false
	}
	f := t.frames[len(t.frames)-1]
	if f.pc >= len(f.ops) {
		return 0, nil, nil, false
	}
	o := &f.ops[f.pc]
	if o.Kind != kernel.OpAcquire || o.Try || o.Unpublished || o.Ext().Ctx != "" || !s.isReal(o) {
		return 0, nil, nil, false
	}
	key := keyOf(o)
	if strings.HasPrefix(key, "resv:") || s.holds(t, key) || !s.canLock(t, key, o.Mode) {
		return 0, nil, nil, false
	}
	if t.src != nil && len(t.frames) == 1 && f.pc == 0 {
		return 0, nil, nil, false // the thread's first step has its own conditions (stepThread)
	}
	// A writer's section needs L free; a reader's only that no writer
	// holds it, which other readers' acquires and releases (commuting
	// updates, opFoot) do not change: it commutes with them.
	foot = []string{"?lock:" + key}
	if shared(o.Mode, o.Ext().Ctx, key) {
		foot = []string{"+lock:" + key}
	}
	shared := false
	for j := f.pc + 1; j < len(f.ops); j++ {
		b := &f.ops[j]
		switch {
		case b.Kind == kernel.OpRelease && keyOf(b) == key:
			return j - f.pc + 1, foot, rel, true
		case privateKinds[b.Kind]:
		case (b.Kind == kernel.OpPut && len(b.Ext().Then) > 0) || (b.Kind == kernel.OpGet && b.Try):
			// The last put runs the finalizer in a frame of its own, and a
			// failed kref_get_unless_zero jumps: neither stays in the
			// section (Machine.Step would take the wrong ops as its rest).
			return 0, nil, nil, false
		case sectionKinds[b.Kind] && !shared:
			bf := s.opFoot(t, b)
			if bf == nil {
				return 0, nil, nil, false
			}
			shared = true
			foot = append(foot, bf...)
			if b.Kind == kernel.OpSignal {
				rel = []string{"fence:" + b.Ext().Fence}
			}
		default:
			return 0, nil, nil, false
		}
	}
	return 0, nil, nil, false
}
