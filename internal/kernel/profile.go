package kernel

import (
	"strconv"
	"strings"
)

// NewestVersion is the newest kernel release whose lockdep-visible facts are
// modelled; a scenario without kernel.version gets it.
const NewestVersion = "7.0"

// Profile is what a lockdep kernel of one release can see and how it prints
// it. Every field is a fact that changed across releases; docs/model.md
// ("Kernel profiles") cites the commit of each.
type Profile struct {
	Version string
	// MmapLockClass is the class lockdep prints for the mm's rwsem:
	// "&mm->mmap_sem" before v5.8 ("mmap locking API: rename mmap_sem to
	// mmap_lock", da1c55f1b272), "&mm->mmap_lock" since.
	MmapLockClass string
	// IMmapClass is the class of the address_space that dma_resv_lockdep()
	// initialises with address_space_init_once(): init_rwsem() names it
	// after its argument, "&mapping->i_mmap_rwsem".
	IMmapClass string
	// BeginSignallingTrylock: dma_fence_begin_signalling() is a successful
	// read-trylock (no edge into dma_fence_map) since v6.13 (commit
	// 2facdd6002ad, "dma-buf/dma-fence: Use a successful read_trylock()
	// annotation for dma_fence_begin_signalling()"); before, a plain
	// non-recursive read acquire that records held --> dma_fence_map.
	BeginSignallingTrylock bool
	// FsReclaimTouchesNotifier: fs_reclaim_acquire() acquires and releases
	// the mmu-notifier map since v5.11 ("mm: Track mmu notifiers in
	// fs_reclaim_acquire/release", D. Vetter), so lockdep records
	// fs_reclaim --> mmu_notifier_invalidate_range_start.
	FsReclaimTouchesNotifier bool
	// TableReadSync: print_circular_lock_scenario() prints rlock( for a
	// read-held target or a read source and sync( for a lock_sync() source
	// since v6.4 ("locking/lockdep: Improve the deadlock scenario print for
	// sync and read lock", B. Feng); before, every line is lock(.
	TableReadSync bool
	// WaitTypes: lockdep prints each class's wait types after its usage,
	// "{+.+.}-{3:3}", since v5.7 (de8f5e4f2dc1 "lockdep: Introduce
	// wait-type checks"); before, only "{+.+.}".
	WaitTypes bool
	// RawLockNesting: CONFIG_PROVE_RAW_LOCK_NESTING is on with
	// PROVE_LOCKING since v6.13 (560af5dc839e "lockdep: Enable
	// PROVE_RAW_LOCK_NESTING with PROVE_LOCKING."): spinlock_t gets its own
	// wait type (3, sleeping locks 4) and may not nest in a raw_spinlock.
	RawLockNesting bool
	// SRCUSync: synchronize_srcu() is annotated with lock_sync() and
	// srcu_read_lock() is a recursive read lockdep checks, since v6.4
	// ("rcu: Annotate SRCU's update-side lockdep dependencies",
	// "locking/lockdep: Introduce lock_sync()", B. Feng).
	SRCUSync bool
	// FenceAnnotations: dma_fence_map exists (begin/end_signalling, the
	// might-wait annotation of fence waits, and its priming in
	// dma_resv_lockdep()) since v5.9 ("dma-fence: basic lockdep
	// annotations" and "dma-fence: prime lockdep annotations", D. Vetter).
	FenceAnnotations bool
	// SchedAnnotates: the drm_sched core brackets run_job with
	// dma_fence_begin/end_signalling(). No mainline release does (R. Clark's
	// opt-in "drm/sched: Add (optional) fence signaling annotation", 2023,
	// was not merged; K8); a scheduler's annotate: overrides it.
	SchedAnnotates bool
}

// ProfileFor returns the profile of a release ("" means the newest).
func ProfileFor(version string) Profile {
	if version == "" {
		version = NewestVersion
	}
	p := Profile{Version: version, MmapLockClass: "&mm->mmap_lock", IMmapClass: "&mapping->i_mmap_rwsem",
		BeginSignallingTrylock: true, FsReclaimTouchesNotifier: true, TableReadSync: true, FenceAnnotations: true, RawLockNesting: true, WaitTypes: true, SRCUSync: true}
	if before(version, 5, 7) {
		p.WaitTypes = false
	}
	if before(version, 5, 8) {
		p.MmapLockClass = "&mm->mmap_sem"
	}
	if before(version, 5, 9) {
		p.FenceAnnotations = false
	}
	if before(version, 5, 11) {
		p.FsReclaimTouchesNotifier = false
	}
	if before(version, 6, 4) {
		p.TableReadSync = false
		p.SRCUSync = false
	}
	if before(version, 6, 13) {
		p.BeginSignallingTrylock = false
		p.RawLockNesting = false
	}
	return p
}

// before reports whether release v ("MAJOR.MINOR") is older than major.minor.
// The loader only accepts listed releases; anything unparsable is the newest.
func before(v string, major, minor int) bool {
	a, b, ok := strings.Cut(v, ".")
	if !ok {
		return false
	}
	ma, err1 := strconv.Atoi(a)
	mi, err2 := strconv.Atoi(b)
	if err1 != nil || err2 != nil {
		return false
	}
	return ma < major || (ma == major && mi < minor)
}

// ClassName is the class lockdep prints for a node in this profile: the
// built-in short names of the mm locks become their lockdep spellings.
func (p Profile) ClassName(node string) string {
	base, sub, hasSub := strings.Cut(node, "/")
	switch base {
	case MmapLock:
		base = p.MmapLockClass
	case IMmapRwsem:
		base = p.IMmapClass
	default:
		return node
	}
	if hasSub {
		return base + "/" + sub
	}
	return base
}

// lockAliases are the lockdep spellings a scenario may use for the
// built-in mm locks (any release's).
var lockAliases = map[string]string{
	"&mm->mmap_lock":         MmapLock,
	"&mm->mmap_sem":          MmapLock,
	"mmap_sem":               MmapLock,
	"&mapping->i_mmap_rwsem": IMmapRwsem,
}

// CanonicalLock maps a lockdep spelling of a built-in lock to its built-in
// name; other names are returned unchanged.
func CanonicalLock(name string) string {
	if c, ok := lockAliases[name]; ok {
		return c
	}
	return name
}
