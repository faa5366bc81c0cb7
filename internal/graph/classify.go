package graph

import (
	"strings"

	"github.com/fencecheck/fencecheck/internal/kernel"
)

// classify matches a witness cycle against the canonical cycles C1–C15 of
// docs/kernel-rules.md and returns the shape and a concrete fix hint. The tests are
// ordered from the most specific shape to the most generic.
func classify(g *Graph, c Cycle) (shape, hint string) {
	has := map[string]bool{}
	var fences, callbacks, notifiers, shrinkers, locks int
	for _, n := range c.Nodes {
		has[kernel.CanonicalLock(n)] = true // &mm->mmap_lock in lockdep mode
		switch g.nodes[n].Kind {
		case KindFence:
			fences++
		case KindCallback:
			callbacks++
			if strings.HasPrefix(n, "notifier(") {
				notifiers++
			} else {
				shrinkers++
			}
		case KindLock:
			locks++
		}
	}
	fenceLike := fences > 0 || has[kernel.FenceMap]
	edge := func(pred func(e *Edge) bool) *Edge {
		for _, e := range c.Edges {
			if pred(e) {
				return e
			}
		}
		return nil
	}
	isFence := func(n string) bool {
		k := g.nodes[n].Kind
		return k == KindFence || n == kernel.FenceMap
	}
	allocInSection := edge(func(e *Edge) bool { return e.Kind == EdgeAlloc && isFence(e.From) })
	fenceDep := edge(func(e *Edge) bool { return e.Kind == EdgeFence })
	resvInSection := edge(func(e *Edge) bool { return isFence(e.From) && e.To == kernel.WWMutex })
	for _, n := range c.Nodes {
		if kernel.IsCompletion(n) {
			out := edge(func(e *Edge) bool { return e.From == n })
			where := ""
			if out != nil {
				where = " The completing path does, before complete(), " + out.Text + " at " + posText(out) + "."
			}
			return "a completion's waiter depends on what its completer does before complete()",
				"The thread that completes " + n + " first does something that waits, through this chain, for the waiter." + where + " Call complete() before it, preallocate, or do not wait for the completion there."
		}
	}
	if s := edge(func(e *Edge) bool { return e.Sync }); s != nil {
		return "synchronize_srcu under a lock an SRCU reader takes",
			"synchronize_srcu (" + posText(s) + ") waits for every read-side section, and one of them takes a lock held here: release it before synchronizing (e.g. drm_dev_unplug() before taking the driver's locks)."
	}
	for _, n := range c.Nodes {
		if strings.HasPrefix(n, "(work_completion)") {
			return "C13: flushing a worker while holding a lock the worker takes",
				"Do not flush or cancel the work (" + n + ") while holding a lock that the work function takes; drop the lock first or use a separate lock for the work's state."
		}
	}
	switch {
	case fenceLike && allocInSection != nil && (notifiers > 0 || fenceDep != nil) && fenceDep != nil:
		return "C5: cross-device userptr cycle (notifier → fence → fence → allocation → reclaim → notifier)",
			"The signalling path of " + allocInSection.From + " allocates with reclaim at " + posText(allocInSection) + " (" + allocInSection.Text + "). Pre-allocate before the fence is published (job init, before drm_sched_job_arm), or use GFP_NOWAIT/GFP_ATOMIC and handle failure (R3, R4)."
	case fenceLike && allocInSection != nil && allocInSection.To == kernel.MMUNotifier:
		return "C4: GFP_NOFS/GFP_NOIO allocation in a signalling section vs. an mmu notifier that waits on fences",
			"NOFS/NOIO still direct-reclaims and may invalidate user mappings; only GFP_NOWAIT/GFP_ATOMIC are safe in signalling code (R4). Fix the allocation at " + posText(allocInSection) + "."
	case fenceLike && allocInSection != nil:
		return "C3: reclaiming allocation in a fence signalling section vs. reclaim that waits on fences",
			"Signalling code (run_job, free_job, timedout_job, IRQ/callbacks, anything after the fence is published) must not allocate with GFP_KERNEL/NOFS/NOIO: pre-allocate at job init, or use GFP_NOWAIT/__GFP_KSWAPD_RECLAIM and handle failure (R3). Allocation at " + posText(allocInSection) + "."
	case fenceLike && resvInSection != nil:
		return "C2: dma_resv held across a fence wait vs. a signalling path that locks a dma_resv",
			"Signalling code must not take a dma_resv lock (R5): everything the job needs must be locked and validated before the fence is published. Offending lock at " + posText(resvInSection) + "."
	case has[kernel.MmapLock] && has[kernel.WWMutex]:
		return "C7: dma_resv vs. mmap_lock (user memory faulted under a dma_resv)",
			"Do not call get_user_pages/hmm_range_fault/copy_from_user while holding a dma_resv; collect user pages under the outer VM lock first (R11)."
	case has[kernel.FsReclaim] && (has[kernel.WWMutex] || has[kernel.WWAcquire]) && edge(func(e *Edge) bool {
		return (e.From == kernel.FsReclaim || strings.HasPrefix(e.From, "shrinker(")) && (e.To == kernel.WWMutex || e.To == kernel.WWAcquire)
	}) != nil:
		return "C8: blocking dma_resv lock (or ww acquire context) in a shrinker",
			"Shrinkers run under fs_reclaim and may only trylock dma_resv (R11, R22): use dma_resv_trylock(), drop the ww ticket, and skip the object (return SHRINK_STOP) when it is contended."
	case fenceLike && locks > 0 && edge(func(e *Edge) bool { return e.Kind == EdgeWait && g.nodes[e.From].Kind == KindLock }) != nil:
		w := edge(func(e *Edge) bool { return e.Kind == EdgeWait && g.nodes[e.From].Kind == KindLock })
		if edge(func(e *Edge) bool { return isFence(e.From) && e.To == w.From }) != nil && w.Path != "" && sectionTakes(c, w.From) {
			return "C1/C12: a lock held across a fence wait is also taken on the fence's signalling path",
				"Do not wait for a fence while holding " + w.From + " (" + posText(w) + "): a path that must run for the fence to signal takes it (R6, R7). Drop the lock before waiting, or move the lock out of the signalling path."
		}
		return "C1: lock held across a fence wait vs. signalling path taking it",
			"Do not wait for a fence while holding " + w.From + " (" + posText(w) + ") if any signalling path takes it (R6)."
	case (has[kernel.FsReclaim] || has[kernel.MMUNotifier]) && callbacks+boolInt(has[kernel.MMUNotifier]) > 0 && locks > 0:
		a := edge(func(e *Edge) bool { return e.Kind == EdgeAlloc })
		where := ""
		if a != nil {
			where = " The allocation is at " + posText(a) + " (" + a.Text + ")."
		}
		return "C6/C9: a lock taken in a notifier or shrinker is held across a reclaiming allocation",
			"Any lock the notifier/shrinker takes becomes a lock under which GFP_KERNEL cannot be used: allocate before taking it, split the lock, or use GFP_ATOMIC/GFP_NOWAIT (R8, R12)." + where
	case fenceLike:
		return "fence dependency cycle",
			"A fence's signalling depends, through the chain shown, on something that waits for it. Break the edge that makes signalling code depend on a waiter (R6)."
	}
	return "lock-order inversion",
		"Take the locks in one global order everywhere, or make one acquisition a trylock with a fallback."
}

func sectionTakes(c Cycle, lock string) bool {
	for _, e := range c.Edges {
		if e.To == lock && (e.Kind == EdgeLock) {
			return true
		}
	}
	return false
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func posText(e *Edge) string {
	if !e.Pos.Valid() {
		return "the kernel prelude"
	}
	return e.Pos.String()
}
