package lockdepproc

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// kernelChain is the dependency chain every DRM debug kernel shows once
// dma_resv_lockdep() has run (drivers/dma-buf/dma-resv.c): mmap_lock →
// ww acquire ctx → dma_resv → fs_reclaim → notifier map → dma_fence_map,
// under the names lockdep prints.
var kernelChain = []string{
	"&mm->mmap_lock", "reservation_ww_class_acquire", "reservation_ww_class_mutex",
	"fs_reclaim", "mmu_notifier_invalidate_range_start", "dma_fence_map",
}

// Generate writes a synthetic /proc/lockdep and /proc/lockdep_chains in
// the format of lockdep_proc.c (l_show, lc_show): classes lock classes,
// deps direct dependencies, acyclic (as a kernel whose lockdep is still on),
// deterministic from seed. The first classes are the kernel chain above,
// in order; the others are driver-like classes ("&gpuN->lockM") whose
// dependencies run forward in a random order, so that long observed paths
// exist, including paths from driver classes into fs_reclaim.
func Generate(classes, deps int, seed uint64) (lockdep, chains []byte) {
	classes = max(classes, len(kernelChain)+2)
	rng := rand.New(rand.NewPCG(seed, 0x6c6f636b646570))
	names := make([]string, classes)
	copy(names, kernelChain)
	for i := len(kernelChain); i < classes; i++ {
		names[i] = fmt.Sprintf("&gpu%d->lock%d", i%97, i)
		if i%13 == 0 {
			names[i] = fmt.Sprintf("&gpu%d->mutex%d#%d", i%97, i, 2+i%5)
		}
	}
	// rank orders classes; every dependency goes from lower to higher rank.
	// The kernel chain keeps its order; driver classes are spread around it
	// so some sit before fs_reclaim (they may allocate) and some after.
	rank := make([]int, classes)
	perm := rng.Perm(classes)
	for i := range rank {
		rank[i] = perm[i] * 4
	}
	for i := range kernelChain {
		rank[i] = (classes / 2 * 4) + i*2*classes/len(kernelChain) + 1
	}
	type pair struct{ a, b int }
	seen := map[pair]bool{}
	after := make([][]int, classes)
	add := func(a, b int) bool {
		if a == b || seen[pair{a, b}] {
			return false
		}
		if rank[a] > rank[b] {
			a, b = b, a
		}
		if seen[pair{a, b}] {
			return false
		}
		seen[pair{a, b}] = true
		after[a] = append(after[a], b)
		return true
	}
	n := 0
	for i := 0; i+1 < len(kernelChain); i++ {
		if add(i, i+1) {
			n++
		}
	}
	for tries := 0; n < deps && tries < deps*20; tries++ {
		a := rng.IntN(classes)
		// Mostly local dependencies (a driver's locks nest among
		// themselves), some into the kernel chain.
		var b int
		switch r := rng.IntN(10); {
		case r == 0:
			b = rng.IntN(len(kernelChain))
		case r < 7:
			b = (a + 1 + rng.IntN(64)) % classes
		default:
			b = rng.IntN(classes)
		}
		if add(a, b) {
			n++
		}
	}
	usage := []string{"+.+.", "++++", ".+.+", "-.-.", "+.+.", "....", "+.+."}
	var lb strings.Builder
	lb.WriteString("all lock classes:\n")
	key := func(i int) string { return fmt.Sprintf("%016x", 0xffffffff82000000+uint64(i)*0x40) }
	for i := 0; i < classes; i++ {
		u := usage[(i*7+int(seed))%len(usage)]
		if i < len(kernelChain) {
			u = "+.+."
			if kernelChain[i] == "dma_fence_map" {
				u = "++++"
			}
		}
		fmt.Fprintf(&lb, "%s OPS:%8d FD:%5d BD:%5d %s: %s\n", key(i), 1+i%1000, len(after[i]), 0, u, names[i])
		for _, b := range after[i] {
			fmt.Fprintf(&lb, " -> [%s] %s\n", key(b), names[b])
		}
		lb.WriteString("\n")
	}
	var cb strings.Builder
	cb.WriteString("all lock chains:\n")
	for c := 0; c < classes/2; c++ {
		a := rng.IntN(classes)
		ctx := 0
		if usage[(a*7+int(seed))%len(usage)] == "-.-." && a >= len(kernelChain) {
			ctx = 2
		}
		fmt.Fprintf(&cb, "irq_context: %d\n", ctx)
		for d := 0; d < 4; d++ {
			fmt.Fprintf(&cb, "[%s] %s\n", key(a), names[a])
			if len(after[a]) == 0 {
				break
			}
			a = after[a][rng.IntN(len(after[a]))]
		}
		cb.WriteString("\n")
	}
	return []byte(lb.String()), []byte(cb.String())
}
