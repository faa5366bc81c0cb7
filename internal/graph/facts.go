package graph

// A built-in edge is not in the design: it is a fact of the kernel, or an
// assumption fencecheck makes on the design's behalf. Reports say which,
// naming the kernel function and file (docs/kernel-rules.md cites each),
// instead of pointing at a YAML line. Every built-in edge the graph adds
// names one of these facts; a test walks every finding of the library and
// fails on a built-in step that names anything else.

// Fact identifies the source of a built-in dependency.
type Fact string

const (
	// dma_resv_lockdep() (drivers/dma-buf/dma-resv.c, an initcall) primes
	// mmap_lock -> ww ctx -> dma_resv -> fs_reclaim -> {i_mmap_rwsem,
	// mmu notifier map -> dma_fence_map} at boot (K5).
	FactResvLockdep Fact = "dma_resv_lockdep() in drivers/dma-buf/dma-resv.c (K5)"
	// fs_reclaim_acquire() (mm/page_alloc.c) also acquires the mmu
	// notifier map when reclaim may invalidate mappings (K11; "mm: Track
	// mmu notifiers in fs_reclaim_acquire/release").
	FactFsReclaimNotifier Fact = "fs_reclaim_acquire() in mm/page_alloc.c (K11)"
	// shrink_slab() (mm/vmscan.c): direct reclaim calls every registered
	// shrinker (K11).
	FactShrinkSlab Fact = "shrink_slab() in mm/vmscan.c (K11)"
	// Reclaim and munmap unmap user pages: try_to_unmap()/zap paths call
	// mmu_notifier_invalidate_range_start() (mm/rmap.c, mm/memory.c), which
	// runs the interval notifiers of the range (K9).
	FactInvalidate Fact = "mmu_notifier_invalidate_range_start() via try_to_unmap() in mm/rmap.c (K9)"
	// The rmap walk invalidates mappings under i_mmap_rwsem (read):
	// rmap_walk_file() -> try_to_unmap_one()/try_to_migrate_one() call
	// mmu_notifier_invalidate_range_start() (mm/rmap.c, K9).
	FactRmap Fact = "rmap_walk_file() in mm/rmap.c (K9)"
	// drm_sched runs a job only once its dependencies signal
	// (drm_sched_job_add_dependency(), drivers/gpu/drm/scheduler/).
	FactSchedDependency Fact = "drm_sched_job_add_dependency() in drivers/gpu/drm/scheduler/sched_main.c (R15)"
	// fencecheck's own conservative assumption in precise mode: something
	// reclaim waits on (a shrinker, another driver's notifier, TTM
	// eviction) may be any published fence (R3, R4).
	FactAnyFence Fact = "fencecheck assumption: reclaim-time waiters may wait on any published fence (R3, R4)"
	// A kernel's lockdep observed this dependency (/proc/lockdep, base:).
	FactObserved Fact = "observed by lockdep (/proc/lockdep of the base)"
)

// Facts lists every documented built-in fact.
var Facts = []Fact{FactResvLockdep, FactRmap, FactFsReclaimNotifier, FactShrinkSlab, FactInvalidate, FactSchedDependency, FactAnyFence, FactObserved}
