package exec

// dma_resv: reserving slots, adding and replacing fences, waiting for
// them and evicting (drivers/dma-buf/dma-resv.c).

import (
	"fmt"

	"github.com/fencecheck/fencecheck/internal/diag"
	"github.com/fencecheck/fencecheck/internal/kernel"
	"github.com/fencecheck/fencecheck/internal/model"
	"github.com/fencecheck/fencecheck/internal/rules"
)

func runReserve(s *sim, t *thread, f *frame, o *kernel.Op) bool {
	if !s.holds(t, "resv:"+o.Ext().Obj) {
		s.finding(rules.ResvNotLocked, o.Pos, fmt.Sprintf("%s without holding %s's dma_resv lock (thread %s)", o.Text, o.Ext().Obj, t.name),
			[]diag.Step{{File: s.p.File, Pos: o.Pos, Path: o.InPath(), Context: t.context, Message: o.Text}}, "Lock the object before reserving slots (R13).")
	}
	s.slots[o.Ext().Obj] += int(o.Count)
	s.event(t, "reserve", o.Text, o.Pos)
	a := *o // a copy: compiled ops are shared by every schedule
	a.GFP, _ = model.ParseGFP("GFP_KERNEL")
	s.alloc(t, a)
	return true
}

func runWaitResv(s *sim, t *thread, f *frame, o *kernel.Op) bool {
	usage := o.Ext().Usage
	if o.Kind == kernel.OpEvict {
		usage = "BOOKKEEP"
	}
	for _, e := range s.resv[o.Ext().Obj] {
		if usageRank(e.usage) <= usageRank(usage) && !s.fences[e.fence] {
			s.block(t, &blockOn{kind: "fence", fence: e.fence, op: o})
			return false
		}
	}
	s.event2(t, "wait", o.Text, " (all signalled)", o.Pos)
	if o.Kind == kernel.OpEvict {
		s.gpuMayReach(t, *o, o.Ext().Buffer, "evicting ")
	}
	return true
}

func runAddFence(s *sim, t *thread, f *frame, o *kernel.Op) bool {
	if !s.holds(t, "resv:"+o.Ext().Obj) {
		s.finding(rules.ResvNotLocked, o.Pos, fmt.Sprintf("%s without holding %s's dma_resv lock (thread %s)", o.Text, o.Ext().Obj, t.name),
			[]diag.Step{{File: s.p.File, Pos: o.Pos, Path: o.InPath(), Context: t.context, Message: o.Text}}, "Lock the object's dma_resv around dma_resv_add_fence.")
	}
	if o.Kind == kernel.OpAddFence {
		if s.slots[o.Ext().Obj] <= 0 {
			s.finding(rules.MissingSlot, o.Pos, fmt.Sprintf("%s with no reserved slot: dma_resv_add_fence would BUG() (R13)", o.Text),
				[]diag.Step{{File: s.p.File, Pos: o.Pos, Path: o.InPath(), Context: t.context, Message: o.Text}},
				"Call reserve_fences on "+o.Ext().Obj+" after locking it and before the fence is added.")
		} else {
			s.slots[o.Ext().Obj]--
		}
		s.resv[o.Ext().Obj] = append(s.resv[o.Ext().Obj], resvEntry{o.Ext().Fence, o.Ext().Usage})
	} else {
		s.resv[o.Ext().Obj] = []resvEntry{{o.Ext().Fence, o.Ext().Usage}}
	}
	s.event(t, "resv", o.Text, o.Pos)
	return true
}

func footReserve(s *sim, t *thread, o *kernel.Op) []string {
	return []string{"resvslots:resv:" + o.Ext().Obj, "reclaimed:" + o.Pos.String()}
}

func footAddFence(s *sim, t *thread, o *kernel.Op) []string {
	return []string{"resv:" + o.Ext().Obj, "resvslots:resv:" + o.Ext().Obj}
}

func footWaitResv(s *sim, t *thread, o *kernel.Op) []string {
	// Reads the resv and the state of its fences (blocking on one
	// registers a waiter its signal wakes); eviction also reads the
	// GPU's reach (PTEs, unfinished jobs) for the golden rule.
	foot := []string{"?resv:" + o.Ext().Obj}
	for _, e := range s.resv[o.Ext().Obj] {
		foot = append(foot, "?fence:"+e.fence)
	}
	if o.Kind == kernel.OpEvict {
		b := o.Ext().Buffer
		if b == "" {
			b = o.Ext().Obj
		}
		foot = append(append(foot, s.pteRead(b)...), s.usersFoot(b)...)
	}
	return foot
}

// tagWaitResv: a wait reads the resv's fence list; fences are only
// appended, and a replace makes a new list, so the list's first entry and
// length name it. (Eviction also reads the page tables: not kept.)
func tagWaitResv(s *sim, t *thread, o *kernel.Op) (footTag, bool) {
	es := s.resv[o.Ext().Obj]
	if len(es) == 0 {
		return footTag{}, true
	}
	return footTag{resv: &es[0], n: uint64(len(es))}, true
}

// registered in transitions.go
func init() {
	stepKinds[kernel.OpAddFence] = stepKind{run: runAddFence, foot: footAddFence}
	stepKinds[kernel.OpEvict] = stepKind{run: runWaitResv, foot: footWaitResv}
	stepKinds[kernel.OpReplace] = stepKind{run: runAddFence, foot: footAddFence}
	stepKinds[kernel.OpReserve] = stepKind{run: runReserve, foot: footReserve}
	stepKinds[kernel.OpWaitResv] = stepKind{run: runWaitResv, foot: footWaitResv, footTag: tagWaitResv}
}
