package exec

// Memory: allocation and direct reclaim, page tables and the golden rule,
// object reference counts.

import (
	"fmt"
	"slices"

	"github.com/fencecheck/fencecheck/internal/diag"
	"github.com/fencecheck/fencecheck/internal/kernel"
	"github.com/fencecheck/fencecheck/internal/model"
	"github.com/fencecheck/fencecheck/internal/rules"
)

func usageRank(u string) int {
	switch u {
	case "WRITE":
		return 1
	case "READ":
		return 2
	case "BOOKKEEP":
		return 3
	}
	return 0 // KERNEL (and, as before, anything unknown)
}

// insertSorted adds name to a sorted slice (engines are few and
// created rarely; lookups happen every step).
func insertSorted(list []string, name string) []string {
	i, _ := slices.BinarySearch(list, name)
	return slices.Insert(list, i, name)
}

// vmOf picks the VM a mapping goes into: the step's vm:, the object's VM,
// or the object's own GPU mapping.
func (s *sim) vmOf(o kernel.Op) string {
	if o.Ext().VM != "" {
		return o.Ext().VM
	}
	f := s.p.Scenario.File
	for _, u := range f.Userptrs {
		if u.Name.V == o.Ext().Obj && u.VM.V != "" {
			return u.VM.V
		}
	}
	for _, b := range f.Buffers {
		if b.Name.V == o.Ext().Obj && b.VM.V != "" {
			return b.VM.V
		}
	}
	return "gpu-mapping(" + o.Ext().Obj + ")"
}

// gpuMayReach checks the golden rule (R20) before pages are freed or moved:
// no PTE may map them, no zap may be waiting for its TLB flush, and no
// running job that uses them may still be executing. what+obj names the
// operation in findings.
func (s *sim) gpuMayReach(t *thread, o kernel.Op, obj, what string) {
	if len(s.mmu.MappedIn(obj)) == 0 && len(s.usedBy[obj]) == 0 {
		return
	}
	what += obj
	vms, whys := s.mmu.Reach(obj)
	for i, why := range whys {
		var chain []diag.Step
		for _, key := range []ptKey{{vms[i], obj}, {vms[i], ""}} {
			if st, ok := s.ptSites[key]; ok {
				chain = append(chain, *st)
			}
		}
		chain = append(chain, diag.Step{File: s.p.File, Pos: o.Pos, Path: o.InPath(), Context: t.context, Message: o.Text})
		s.finding(rules.GoldenRule, o.Pos, fmt.Sprintf("%s while %s (R20)", what, why), chain,
			"Zap the PTEs and complete the TLB flush before the pages go back to the allocator (R20).")
	}
	for _, name := range s.usedBy[obj] {
		js := s.jobs[name]
		if !js.submitted || s.fences[js.info.Fence] {
			continue
		}
		s.finding(rules.GoldenRule, o.Pos, fmt.Sprintf("%s while job %s, which accesses it, has not completed (%s unsignalled) (R20)", what, name, js.info.Fence),
			// As for the PTE findings above: where the access comes from
			// first, the free last.
			[]diag.Step{{File: s.p.File, Pos: js.info.Pos, Message: "job " + name + " uses " + obj + " and has not completed (" + js.info.Fence + " unsignalled)"},
				{File: s.p.File, Pos: o.Pos, Path: o.InPath(), Context: t.context, Message: o.Text}},
			"Wait for every fence of the object (including other contexts' fences) before freeing or moving it; never replace an unsignalled fence of another context (seed 002).")
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

// refs is the object's reference count: one (its creator's) until a get or
// put changes it.
func (s *sim) setRefs(obj string, n int) {
	if s.refCount == nil {
		s.refCount = map[string]int{} // most designs never count references
	}
	s.refCount[obj] = n
}

func (s *sim) refs(obj string) int {
	if n, ok := s.refCount[obj]; ok {
		return n
	}
	return 1
}

func runAlloc(s *sim, t *thread, f *frame, o *kernel.Op) bool {
	s.alloc(t, *o)
	return true
}

func runScopeSave(s *sim, t *thread, f *frame, o *kernel.Op) bool {
	t.scopes[o.Ext().Scope]++
	s.event(t, "scope", o.Text, o.Pos)
	return true
}

func runScopeRest(s *sim, t *thread, f *frame, o *kernel.Op) bool {
	t.scopes[o.Ext().Scope]--
	s.event(t, "scope", o.Text, o.Pos)
	return true
}

func runPin(s *sim, t *thread, f *frame, o *kernel.Op) bool {
	s.mmu.Mem.Pinned[o.Ext().Obj]++
	s.event(t, "pin", o.Text, o.Pos)
	return true
}

func runUnpin(s *sim, t *thread, f *frame, o *kernel.Op) bool {
	s.mmu.Mem.Pinned[o.Ext().Obj]--
	s.event(t, "unpin", o.Text, o.Pos)
	if s.mmu.Mem.Pinned[o.Ext().Obj] <= 0 && s.pinnedFree[o.Ext().Obj] {
		// The last unpin of an unmapped range frees the pages now.
		delete(s.pinnedFree, o.Ext().Obj)
		s.gpuMayReach(t, *o, o.Ext().Obj, "the last unpin freeing the pages of ")
		s.mmu.Mem.Freed[o.Ext().Obj] = true
	}
	return true
}

func runFreePages(s *sim, t *thread, f *frame, o *kernel.Op) bool {
	if o.Synthetic && s.mmu.Mem.Pinned[o.Ext().Obj] > 0 {
		// A long-term pin (pin_user_pages, FOLL_PIN) holds the pages:
		// munmap drops only the mapping's reference and the page is
		// freed by the last unpin_user_page() (mm/gup.c).
		if s.pinnedFree == nil {
			s.pinnedFree = map[string]bool{}
		}
		s.pinnedFree[o.Ext().Obj] = true
		s.event2(t, "free", o.Text, ": the pages are pinned and stay allocated until unpinned", o.Pos)
		return true
	}
	s.gpuMayReach(t, *o, o.Ext().Obj, "freeing the pages of ")
	s.mmu.Mem.Freed[o.Ext().Obj] = true
	s.event(t, "free", o.Text, o.Pos)
	return true
}

func runGet(s *sim, t *thread, f *frame, o *kernel.Op) bool {
	if o.Try && s.refs(o.Ext().Obj) <= 0 {
		// kref_get_unless_zero on a dying object fails: the caller
		// must not touch it (include/linux/kref.h).
		s.failBranch(t, f, o, "get", " (the object is dying: fails)")
		return false
	}
	s.setRefs(o.Ext().Obj, s.refs(o.Ext().Obj)+1)
	s.event(t, "get", o.Text, o.Pos)
	return true
}

func runPut(s *sim, t *thread, f *frame, o *kernel.Op) bool {
	n := s.refs(o.Ext().Obj) - 1
	s.setRefs(o.Ext().Obj, n)
	if s.opt.Trace {
		s.event(t, "put", fmt.Sprintf("%s (%d left)", o.Text, max(n, 0)), o.Pos)
	} else {
		s.steps++
	}
	if n == 0 && len(o.Ext().Then) > 0 {
		// kref_put calls the release function in the putting thread.
		f.pc++
		t.frames = append(t.frames, &frame{ops: o.Ext().Then, origin: o.Pos, why: o.Text})
		return false
	}
	return true
}

func footAlloc(s *sim, t *thread, o *kernel.Op) []string {
	if s.pressure && o.GFP&model.GFPDirectReclaim != 0 {
		// Whether it enters direct reclaim depends on whether another
		// thread already reclaimed at this site; the reclaim steps
		// themselves come later, each with its own footprint.
		return []string{"reclaimed:" + o.Pos.String()}
	}
	return []string{}
}

func footFreePages(s *sim, t *thread, o *kernel.Op) []string {
	// Marks the pages freed (or, when a pin holds them, freed at the
	// last unpin): two frees commute; a free reads the pin count and
	// the GPU's reach (golden rule).
	return append(append([]string{"?pin:" + o.Ext().Obj, "+freed:" + o.Ext().Obj}, s.pteRead(o.Ext().Obj)...), s.usersFoot(o.Ext().Obj)...)
}

func footPin(s *sim, t *thread, o *kernel.Op) []string {
	return []string{"+pin:" + o.Ext().Obj} // a count: two pins commute
}

func footGet(s *sim, t *thread, o *kernel.Op) []string {
	return []string{"ref:" + o.Ext().Obj}
}

func footUnpin(s *sim, t *thread, o *kernel.Op) []string {
	// The last unpin of an unmapped range frees its pages (golden rule).
	return append(append([]string{"pin:" + o.Ext().Obj, "freed:" + o.Ext().Obj}, s.pteRead(o.Ext().Obj)...), s.usersFoot(o.Ext().Obj)...)
}

// registered in transitions.go
func init() {
	stepKinds[kernel.OpAlloc] = stepKind{run: runAlloc, foot: footAlloc}
	stepKinds[kernel.OpFreePages] = stepKind{run: runFreePages, foot: footFreePages}
	stepKinds[kernel.OpGet] = stepKind{run: runGet, foot: footGet}
	stepKinds[kernel.OpPin] = stepKind{run: runPin, foot: footPin}
	stepKinds[kernel.OpPut] = stepKind{run: runPut, foot: footGet}
	stepKinds[kernel.OpScopeRest] = stepKind{run: runScopeRest, foot: footPrivate}
	stepKinds[kernel.OpScopeSave] = stepKind{run: runScopeSave, foot: footPrivate}
	stepKinds[kernel.OpUnpin] = stepKind{run: runUnpin, foot: footUnpin}
}
