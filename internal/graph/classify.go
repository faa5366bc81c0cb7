package graph

import (
	"fmt"
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
	// An allocation, or anything the design does that enters reclaim
	// (get_user_pages, a might_lock(fs_reclaim)).
	allocEdge := edge(func(e *Edge) bool {
		return e.Kind == EdgeAlloc || (e.To == kernel.FsReclaim && e.Builtin == "" && e.Pos.Valid())
	})
	callbackLock := callbackLockEdge(g, c)
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
	if s := edge(func(e *Edge) bool { return e.ToSync() }); s != nil {
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
	case has[kernel.MmapLock] && has[kernel.WWMutex] && edge(func(e *Edge) bool {
		return kernel.CanonicalLock(e.To) == kernel.MmapLock && e.Builtin == "" && e.Pos.Valid()
	}) != nil:
		return "C7: dma_resv vs. mmap_lock (user memory faulted under a dma_resv)",
			"Do not call get_user_pages/hmm_range_fault/copy_from_user while holding a dma_resv; collect user pages under the outer VM lock first (R11)."
	case has[kernel.FsReclaim] && (has[kernel.WWMutex] || has[kernel.WWAcquire]) && edge(func(e *Edge) bool {
		return (e.From == kernel.FsReclaim || strings.HasPrefix(e.From, "shrinker(")) && (e.To == kernel.WWMutex || e.To == kernel.WWAcquire) && e.Builtin == ""
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
	case allocEdge != nil && callbackLock != nil:
		return "C6/C9: a lock taken in a notifier or shrinker is held across a reclaiming allocation",
			"The " + callbackLock.Context + " path takes " + callbackLock.To + " (" + posText(callbackLock) + "), and " + allocEdge.From + " is held across " + allocEdge.Text + " at " + posText(allocEdge) + ": any lock a notifier or shrinker takes becomes one under which GFP_KERNEL cannot be used. Allocate before taking it, split the lock, or use GFP_NOWAIT/GFP_ATOMIC and handle failure (R8, R12); a memalloc_nofs/noio scope is not enough, since NOFS/NOIO still reclaims (only memalloc_noreclaim does not)."
	case fenceLike:
		return "fence dependency cycle",
			"A fence's signalling depends, through the chain shown, on something that waits for it. Break the edge that makes signalling code depend on a waiter (R6)." + designEdges(c)
	case allLocks(c):
		return "lock-order inversion",
			"Take the locks in one global order everywhere, or make one acquisition a trylock with a fallback." + designEdges(c)
	}
	return composition(g, c), "No canonical shape fits this cycle." + designEdges(c)
}

// callbackLockEdge: a lock a notifier or shrinker takes (in precise mode
// an edge out of its callback node; in lockdep mode, where callbacks
// collapse into fs_reclaim and the notifier map, the edge's context says
// it).
func callbackLockEdge(g *Graph, c Cycle) *Edge {
	for _, e := range c.Edges {
		if e.Kind != EdgeLock || e.Builtin != "" {
			continue
		}
		switch e.Context {
		case "notifier", "shrinker_scan", "shrinker_count", "reclaim":
			return e
		}
		if n := g.nodes[e.From]; n != nil && n.Kind == KindCallback {
			return e
		}
	}
	return nil
}

func allLocks(c Cycle) bool {
	for _, e := range c.Edges {
		if e.Kind != EdgeLock {
			return false
		}
	}
	return true
}

// composition says what a cycle no canonical shape fits is made of.
func composition(g *Graph, c Cycle) string {
	count := map[EdgeKind]int{}
	for _, e := range c.Edges {
		count[e.Kind]++
	}
	var parts []string
	for _, k := range []EdgeKind{EdgeLock, EdgeAlloc, EdgeWait, EdgeFence, EdgeFlush, EdgeReclaim, EdgePrimed, EdgeObserved} {
		if n := count[k]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, k))
		}
	}
	return "cycle of " + strings.Join(parts, ", ") + " edges"
}

// designEdges lists the edges of the cycle that the design made (not
// kernel facts), each with its position and the standard remedy for its
// kind: these are the places a fix can change.
func designEdges(c Cycle) string {
	var parts []string
	for _, e := range c.Edges {
		if e.Builtin != "" || !e.Pos.Valid() {
			continue
		}
		remedy := map[EdgeKind]string{
			EdgeLock:  "take the locks in one order, or trylock with a fallback",
			EdgeAlloc: "allocate before taking the lock or entering the section, or use GFP_NOWAIT and handle failure",
			EdgeWait:  "do not wait for the fence while holding the lock",
			EdgeFlush: "do not flush the work while holding a lock it takes",
			EdgeFence: "do not make the job depend on that fence",
		}[e.Kind]
		if remedy == "" {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %s (%s: %s)", posText(e), e.Text, e.From+" --> "+e.To, remedy))
	}
	if len(parts) == 0 {
		return ""
	}
	return " The design's edges on this cycle: " + strings.Join(parts, "; ") + "."
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
