package kernel

import (
	"github.com/fencecheck/fencecheck/internal/model"
)

// User memory access and core-mm events (docs/model.md, "User memory and
// the core mm").

// userAccess lowers copy_{to,from}_user/put_user/get_user. might_fault()
// sleeps and might_lock_read()s the mm's mmap_lock (mm/memory.c
// __might_fault); a real fault holds mmap_lock for read while the VMA's
// fault handler runs. For a mapped GEM buffer TTM's ttm_bo_vm_reserve()
// (drivers/gpu/drm/ttm/ttm_bo_vm.c) trylocks the BO's resv under
// mmap_lock, and when that fails (and the fault may be retried, as user
// faults from copy_*_user may) drops mmap_lock, waits for the resv with
// dma_resv_lock_interruptible() and returns VM_FAULT_RETRY. The trylock
// makes no dependency; the retry path is a blocking lock of the resv with
// whatever the caller holds, after mmap_lock is released. Both orders are
// lowered in sequence: the blocking lock stands for the contended case,
// which any other holder of the resv can cause.
//
// Under pagefault_disable() (__copy_*_user_inatomic) the access fails with
// -EFAULT instead of faulting: nothing is taken.
func (c *compiler) userAccess(s *model.Step, v model.Str, o Op) []Op {
	dir := map[string]string{"write": "copy_to_user", "read": "copy_from_user"}[v.V]
	if s.PagefaultOff.V {
		return nil
	}
	sl := o
	sl.Kind, sl.Text = OpSleep, dir+": might_fault() may sleep"
	mm := o
	mm.Kind, mm.Lock, mm.Mode, mm.Inst, mm.Text = OpAcquire, MmapLock, Read, MmapLock, dir+": page fault takes mmap_read_lock (might_fault)"
	out := []Op{sl, mm}
	if s.Mapping.V != "" {
		r := c.resvOf(s.Mapping.V)
		try := o
		try.Kind, try.Lock, try.Mut().Obj, try.Inst, try.Try = OpAcquire, WWMutex, r, InstanceOf(r, r), true
		try.Text = "ttm_bo_vm_reserve: dma_resv_trylock(" + r + ") under mmap_lock"
		// A failed trylock continues at the retry path, which first
		// drops mmap_lock: skip the success branch's unlock.
		try.FailTo = 2
		un := try
		un.Kind, un.Try, un.FailTo, un.Text = OpRelease, false, 0, "the fault handler returns: dma_resv_unlock("+r+")"
		out = append(out, try, un)
	}
	rel := o
	rel.Kind, rel.Lock, rel.Mode, rel.Inst, rel.Text = OpRelease, MmapLock, Read, MmapLock, dir+": mmap_read_unlock"
	out = append(out, rel)
	if s.Mapping.V != "" {
		r := c.resvOf(s.Mapping.V)
		l := o
		l.Kind, l.Lock, l.Mut().Obj, l.Inst = OpAcquire, WWMutex, r, InstanceOf(r, r)
		l.Text = "ttm_bo_vm_reserve retry path: mmap_lock dropped, dma_resv_lock_interruptible(" + r + ")"
		u := l
		u.Kind, u.Text = OpRelease, "dma_resv_unlock("+r+"), VM_FAULT_RETRY"
		out = append(out, l, u)
	}
	return out
}

// pinUser lowers get_user_pages/pin_user_pages on a userptr's range, as the
// step's reference promises: it runs under mmap_lock (read) — taken by
// get_user_pages_unlocked() and by the *_fast variants' slow path
// (mm/gup.c) — and faults the pages in, which allocates them
// (GFP_HIGHUSER_MOVABLE, may direct-reclaim).
func (c *compiler) pinUser(v model.Str, o Op) []Op {
	mm := o
	mm.Kind, mm.Lock, mm.Mode, mm.Inst, mm.Text = OpAcquire, MmapLock, Read, MmapLock, "get_user_pages("+v.V+"): mmap_read_lock"
	al := o
	al.Kind, al.Text = OpAlloc, "get_user_pages("+v.V+") faults the pages in: alloc_pages(GFP_HIGHUSER_MOVABLE)"
	al.GFP, _ = model.ParseGFP("GFP_HIGHUSER_MOVABLE")
	pin := o
	pin.Kind, pin.Mut().Obj, pin.Text = OpPin, v.V, "pin_user_pages("+v.V+")"
	rel := mm
	rel.Kind, rel.Text = OpRelease, "get_user_pages("+v.V+"): mmap_read_unlock"
	return []Op{mm, al, pin, rel}
}

// mmEvent is a core-mm operation that invalidates a userptr's range: which
// lock it holds around the invalidation, and whether pages are freed after.
type mmEvent struct {
	lock  string // mmap_lock or i_mmap_rwsem
	mode  Mode
	frees bool
	what  string // the kernel path, for reports
}

// mmEvents: fork write-protects a COW range (kernel/fork.c dup_mmap under
// mmap_write_lock(oldmm); mm/memory.c copy_page_range with
// MMU_NOTIFY_PROTECTION_PAGE); mprotect changes protections under
// mmap_write_lock (mm/mprotect.c, MMU_NOTIFY_PROTECTION_VMA);
// madvise(MADV_DONTNEED) zaps under mmap_read_lock and the pages are freed
// (mm/madvise.c, MMU_NOTIFY_CLEAR); migration and compaction reach the
// mapping through the rmap walk, which holds i_mmap_rwsem for read
// (mm/rmap.c rmap_walk_file, try_to_migrate_one, MMU_NOTIFY_MIGRATE) and
// free the old pages (mm/migrate.c); a THP split happens under
// mmap_read_lock and frees nothing (mm/huge_memory.c __split_huge_pmd,
// MMU_NOTIFY_CLEAR).
var mmEvents = map[string]mmEvent{
	"fork":             {MmapLock, Write, false, "fork: dup_mmap write-protects the COW range"},
	"mprotect":         {MmapLock, Write, false, "mprotect: change_protection"},
	"madvise_dontneed": {MmapLock, Read, true, "madvise(MADV_DONTNEED): zap_page_range"},
	"migrate":          {IMmapRwsem, Read, true, "migration: rmap walk (try_to_migrate)"},
	"thp_split":        {MmapLock, Read, false, "THP split: __split_huge_pmd"},
}

// mmEventThread lowers a core-mm event on a userptr's range: the event's
// lock, the notifier map and the userptr's invalidate callback, then the
// pages are freed if the event frees them.
func (c *compiler) mmEventThread(event, userptr, name string, order int, pos model.Pos) *Thread {
	ev := mmEvents[event]
	u := c.userptrs[userptr]
	t := &Thread{Name: name, Context: model.CtxProcess, Root: event, Pos: pos, Workload: true, Order: order}
	lk := c.synth(OpAcquire, ev.lock, ev.mode, pos, ev.what+": "+ev.lock+" ("+ev.mode.String()+")")
	lk.Inst = ev.lock
	t.Ops = append(t.Ops, lk)
	t.Ops = append(t.Ops, c.synth(OpAcquire, MMUNotifier, Write, pos, "mmu_notifier_invalidate_range_start ("+event+")"))
	t.Ops = append(t.Ops, c.synth(OpAcquire, NotifierNode(userptr), Write, pos, "invalidate callback of "+userptr))
	t.Ops = append(t.Ops, c.expand(c.paths[u.Notifier.V], model.CtxNotifier, 0, false)...)
	t.Ops = append(t.Ops, c.synth(OpRelease, NotifierNode(userptr), Write, pos, "callback returns"))
	t.Ops = append(t.Ops, c.synth(OpRelease, MMUNotifier, Write, pos, "mmu_notifier_invalidate_range_end"))
	if ev.frees {
		fp := c.synth(OpFreePages, "", Write, pos, "the core mm frees the pages of "+userptr+" ("+event+")")
		fp.Mut().Obj = userptr
		t.Ops = append(t.Ops, fp)
	}
	ul := c.synth(OpRelease, ev.lock, ev.mode, pos, ev.what+": release "+ev.lock)
	ul.Inst = ev.lock
	t.Ops = append(t.Ops, ul)
	// The event's own steps are named by the workload action, in process
	// context (the notifier's steps keep their path).
	at := NewPlace(event, model.CtxProcess)
	for i := range t.Ops {
		if t.Ops[i].Synthetic && t.Ops[i].InPath() == "" {
			t.Ops[i].place = at
		}
	}
	return t
}
