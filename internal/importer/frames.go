package importer

import (
	"strings"

	"github.com/fencecheck/fencecheck/internal/model"
	"github.com/fencecheck/fencecheck/internal/splat"
)

// infra are frames of lockdep itself and of the lock primitives: they say
// how a lock was taken, not which driver function took it.
var infraPrefixes = []string{
	"__lock_acquire", "lock_acquire", "lock_acquired", "check_prev_add", "check_prevs_add", "validate_chain",
	"__lock_acquire_", "lock_map_acquire", "lock_sync", "print_", "dump_stack", "debug_check_no_locks",
	"mutex_lock", "__mutex_lock", "mutex_lock_nested", "mutex_lock_interruptible", "mutex_lock_killable", "__ww_mutex_lock",
	"ww_mutex_lock", "down_read", "down_write", "__down_read", "__down_write", "rwsem_down",
	"_raw_spin_lock", "_raw_read_lock", "_raw_write_lock", "spin_lock", "__raw_spin_lock", "do_raw_spin_lock",
	"fs_reclaim_acquire", "__fs_reclaim_acquire", "might_alloc", "__might_alloc", "slab_pre_alloc_hook", "__alloc_pages",
	"alloc_pages", "__kmalloc", "kmalloc", "kmem_cache_alloc", "__kmem_cache_alloc", "kvmalloc", "__kvmalloc", "vmalloc",
	"__vmalloc", "kzalloc", "kcalloc", "krealloc", "alloc_cpumask_var", "slab_alloc", "__slab_alloc", "prepare_alloc_pages",
	"__dma_fence_might_wait", "dma_fence_begin_signalling", "dma_fence_wait", "dma_fence_default_wait",
	"dma_resv_lock", "dma_resv_lock_interruptible", "dma_resv_lock_slow", "dma_resv_wait_timeout",
	"mmap_read_lock", "mmap_write_lock", "i_mmap_lock", "might_lock", "__might_fault", "__might_sleep",
}

func isInfra(fn string) bool {
	for _, p := range infraPrefixes {
		if strings.HasPrefix(fn, p) {
			return true
		}
	}
	return false
}

// firstCaller is the first frame that is neither lockdep nor a lock
// primitive nor an allocator: the function that took the lock.
func firstCaller(fs []splat.Frame) (splat.Frame, bool) {
	for _, f := range fs {
		if !isInfra(f.Func) {
			return f, true
		}
	}
	return splat.Frame{}, false
}

// callers drops the lockdep and lock-primitive frames at the top of a
// stack, so a comment starts at the function that took the lock.
func callers(fs []splat.Frame) []splat.Frame {
	for i, f := range fs {
		if !isInfra(f.Func) {
			return fs[i:]
		}
	}
	return fs
}

func hasFrame(fs []splat.Frame, pred func(string) bool) (string, bool) {
	for _, f := range fs {
		if pred(f.Func) {
			return f.Func, true
		}
	}
	return "", false
}

func prefixIn(ps ...string) func(string) bool {
	return func(fn string) bool {
		for _, p := range ps {
			if strings.HasPrefix(fn, p) {
				return true
			}
		}
		return false
	}
}

func suffixIn(ss ...string) func(string) bool {
	return func(fn string) bool {
		for _, s := range ss {
			if strings.HasSuffix(fn, s) {
				return true
			}
		}
		return false
	}
}

// allocFrames: the fs_reclaim acquire comes from the allocator
// (fs_reclaim_acquire is called by prepare_alloc_pages/__alloc_pages and,
// for slab, by slab_pre_alloc_hook through might_alloc; mm/page_alloc.c,
// mm/slub.c).
var allocFrame = prefixIn("__kmalloc", "kmalloc", "kmem_cache_alloc", "__kmem_cache_alloc", "slab_pre_alloc_hook", "__alloc_pages",
	"alloc_pages", "prepare_alloc_pages", "kvmalloc", "__kvmalloc", "vmalloc", "__vmalloc", "kzalloc", "kcalloc", "krealloc",
	"alloc_cpumask_var", "slab_alloc", "__slab_alloc", "might_alloc", "__might_alloc", "alloc_page", "folio_alloc", "get_zeroed_page",
	"__get_free_pages", "mempool_alloc", "idr_alloc", "xa_alloc", "radix_tree_preload", "dma_resv_reserve_fences")

var readFrame = prefixIn("down_read", "__down_read", "_raw_read_lock", "mmap_read_lock", "rwsem_down_read", "percpu_down_read", "i_mmap_lock_read", "read_lock")

// contextRule maps frames to the execution context fencecheck knows
// (docs/scenario-format.md, Contexts).
type contextRule struct {
	pred func(string) bool
	ctx  string
	why  string
}

// contextRules are tried against every frame, innermost first; the first
// frame that matches any rule decides. Frame names are the kernel's:
// drm_sched_run_job_work / drm_sched_main (drivers/gpu/drm/scheduler),
// do_shrink_slab (mm/shrinker.c), __mmu_notifier_invalidate_range_start
// (mm/mmu_notifier.c), process_one_work (kernel/workqueue.c), the IRQ entry
// (kernel/irq/handle.c), do_one_initcall (init/main.c).
var contextRules = []contextRule{
	{prefixIn("dma_resv_lockdep"), model.CtxPrime, "dma_resv_lockdep() primes lockdep at boot"},
	{func(fn string) bool {
		return strings.Contains(fn, "lockdep_init") || strings.Contains(fn, "lockdep_prime") || strings.HasSuffix(fn, "_prime_lockdep") ||
			strings.HasSuffix(fn, "_lockdep") && fn != "dma_resv_lockdep"
	}, model.CtxPrime, "a driver's lockdep priming function"},
	{suffixIn("_run_job"), model.CtxRunJob, "drm_sched run_job callback"},
	{prefixIn("drm_sched_run_job_work", "drm_sched_main"), model.CtxRunJob, "drm_sched run_job work"},
	{suffixIn("_timedout_job"), model.CtxTimedoutJob, "drm_sched timedout_job callback"},
	{prefixIn("drm_sched_job_timedout"), model.CtxTimedoutJob, "drm_sched timeout work"},
	{suffixIn("_free_job"), model.CtxFreeJob, "drm_sched free_job callback"},
	{prefixIn("drm_sched_free_job_work"), model.CtxFreeJob, "drm_sched free_job work"},
	{suffixIn("_prepare_job"), model.CtxPrepareJob, "drm_sched prepare_job callback"},
	{suffixIn("_shrinker_count", "_shrink_count", "_count_objects"), model.CtxShrinkCount, "a shrinker's count_objects"},
	{suffixIn("_shrinker_scan", "_shrink_scan", "_scan_objects"), model.CtxShrinkScan, "a shrinker's scan_objects"},
	{prefixIn("do_shrink_slab", "shrink_slab"), model.CtxShrinkScan, "called from shrink_slab"},
	{prefixIn("__mmu_notifier_invalidate_range_start", "mn_itree_invalidate", "mn_hlist_invalidate_range_start"), model.CtxNotifier, "an mmu notifier invalidate callback"},
	{suffixIn("_invalidate_range_start"), model.CtxNotifier, "an mmu notifier invalidate callback"},
	{prefixIn("dma_fence_signal"), model.CtxFenceCB, "runs inside dma_fence_signal (a fence callback)"},
	{prefixIn("__handle_irq_event_percpu", "handle_irq_event", "handle_edge_irq", "handle_fasteoi_irq", "common_interrupt", "asm_common_interrupt",
		"__sysvec_", "sysvec_", "gic_handle_irq", "irq_exit", "__irq_exit_rcu", "generic_handle_irq", "handle_irq_desc"), model.CtxIRQ, "an interrupt handler"},
	{prefixIn("balance_pgdat", "kswapd", "shrink_node", "try_to_free_pages", "__alloc_pages_direct_reclaim", "shrink_lruvec", "try_to_unmap_one"), model.CtxReclaim, "page reclaim"},
	{prefixIn("process_one_work", "worker_thread"), model.CtxWorker, "a workqueue item"},
	{prefixIn("drm_ioctl", "__x64_sys_ioctl", "__arm64_sys_ioctl", "__se_sys_ioctl", "__do_sys_ioctl", "ksys_ioctl"), model.CtxIoctl, "an ioctl"},
	{prefixIn("do_one_initcall", "kernel_init"), model.CtxInit, "an initcall"},
	{prefixIn("kthread"), model.CtxKthread, "a kernel thread"},
}

// contextOf infers the context of a stack; "" when nothing matches.
func contextOf(fs []splat.Frame) (ctx, why, at string) {
	for _, f := range fs {
		for _, r := range contextRules {
			if r.pred(f.Func) {
				return r.ctx, r.why, f.Func
			}
		}
	}
	return "", "", ""
}

// implicitHold is the lockdep class a context holds on entry, as fencecheck
// compiles it in lockdep mode ("" for none).
func implicitHold(ctx string) string {
	switch ctx {
	case model.CtxNotifier:
		return "mmu_notifier_invalidate_range_start"
	case model.CtxShrinkScan, model.CtxShrinkCount, model.CtxReclaim:
		return "fs_reclaim"
	case model.CtxRunJob, model.CtxFreeJob, model.CtxTimedoutJob, model.CtxPrepareJob, model.CtxIRQ, model.CtxFenceCB, model.CtxFaultHandler:
		return "dma_fence_map"
	}
	return ""
}
