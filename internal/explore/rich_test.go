package explore_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/fencecheck/fencecheck/internal/explore"
)

// richDesign writes a random design that mixes the kernel objects whose
// interplay the explorer must order correctly: mutexes and an rwsem, fences
// signalled and waited for, a userptr whose notifier bumps the sequence
// under the notifier lock while an ioctl loops on read_begin/read_retry,
// core-mm invalidations, allocations under memory pressure that run a
// shrinker, and the notifier or the shrinker sometimes taking a driver lock
// or waiting for a fence (the bugs).
func richDesign(seed uint64) string {
	r := rand.New(rand.NewPCG(seed, 11))
	var b strings.Builder
	b.WriteString("fencecheck: 1\nname: rich random design\ndevices:\n  - name: gpu\n    engines: [{name: gfx}]\n")
	b.WriteString("locks:\n  - {name: L0, kind: mutex}\n  - {name: L1, kind: mutex}\n  - {name: R0, kind: rwsem}\n  - {name: nlock, kind: rwsem}\n")
	b.WriteString("fences:\n  - {name: F0}\n  - {name: F1}\n")
	b.WriteString("userptrs:\n  - {name: u, device: gpu, range: [0x100000, 0x200000], notifier: inval}\n")
	pressure := r.IntN(2) == 0
	if pressure {
		b.WriteString("shrinkers:\n  - {name: shr, scan: shrink}\n")
	}
	extra := func() string {
		switch r.IntN(6) {
		case 0:
			return "{lock: L0}, {unlock: L0}, "
		case 1:
			return "{wait: F1}, "
		case 2:
			return "{lock: R0, mode: read}, {unlock: R0}, "
		}
		return ""
	}
	b.WriteString("paths:\n")
	fmt.Fprintf(&b, "  - {name: inval, context: notifier, steps: [%s{lock: nlock}, {set_seq: u}, {unlock: nlock}]}\n", extra())
	if pressure {
		fmt.Fprintf(&b, "  - {name: shrink, context: shrinker_scan, steps: [%s{lock: L1}, {unlock: L1}]}\n", extra())
	}
	nThreads := 2 + r.IntN(2)
	for t := 0; t < nThreads; t++ {
		var steps []string
		held := []string{}
		signals := ""
		if t < 2 {
			signals = fmt.Sprintf(", signals: [F%d]", t)
		}
		for n := 2 + r.IntN(4); n > 0; n-- {
			switch x := r.IntN(12); {
			case x < 3:
				l := []string{"L0", "L1", "R0"}[r.IntN(3)]
				if !slicesContains(held, l) {
					held = append(held, l)
					mode := ""
					if l == "R0" && r.IntN(2) == 0 {
						mode = ", mode: read"
					}
					steps = append(steps, fmt.Sprintf("{lock: %s%s}", l, mode))
				}
			case x < 5 && len(held) > 0:
				i := r.IntN(len(held))
				steps = append(steps, fmt.Sprintf("{unlock: %s}", held[i]))
				held = append(held[:i], held[i+1:]...)
			case x < 7:
				if f := r.IntN(2); f != t {
					steps = append(steps, fmt.Sprintf("{wait: F%d}", f))
				}
			case x < 9:
				steps = append(steps, "{alloc: GFP_KERNEL}")
			case x < 10 && !slicesContains(held, "nlock"):
				steps = append(steps, "{read_begin: u}", "{lock: nlock, mode: read}", "{read_retry: u}", "{unlock: nlock}")
			}
		}
		for i := len(held) - 1; i >= 0; i-- {
			steps = append(steps, fmt.Sprintf("{unlock: %s}", held[i]))
		}
		if t < 2 {
			steps = append(steps, fmt.Sprintf("{signal: F%d}", t))
		}
		fmt.Fprintf(&b, "  - {name: t%d, context: %s%s, steps: [%s]}\n", t, []string{"ioctl", "worker"}[t%2], signals, strings.Join(steps, ", "))
	}
	b.WriteString("workload:\n")
	if pressure {
		b.WriteString("  - memory_pressure: true\n")
	}
	for t := 0; t < nThreads; t++ {
		fmt.Fprintf(&b, "  - run: t%d\n", t)
	}
	for _, ev := range []string{"fork", "mprotect", "munmap"} {
		if r.IntN(3) == 0 {
			fmt.Fprintf(&b, "  - %s: u\n", ev)
		}
	}
	return b.String()
}

func slicesContains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// TestDPORLosesNothingOnRichDesigns: on random designs mixing locks,
// fences, userptr notifiers, core-mm events and reclaim, the default
// exploration and DPOR without state caching find everything brute force
// (every interleaving within two preemptions, step by step) finds.
func TestDPORLosesNothingOnRichDesigns(t *testing.T) {
	compared, withFindings := 0, 0
	for seed := uint64(1); seed <= 200; seed++ {
		src := richDesign(seed)
		p := loadSrc(t, src)
		ref := explore.Run(p, explore.Options{Bound: 2, NoReduction: true, Stepwise: true, Budget: 1000})
		if !ref.Complete {
			continue
		}
		compared++
		if len(ref.Findings) > 0 {
			withFindings++
		}
		for _, opt := range []explore.Options{{Exhaustive: true}, {Exhaustive: true, NoCache: true}} {
			r := explore.Run(p, opt)
			if !r.Complete {
				t.Errorf("seed %d: %+v: %s", seed, opt, r.Coverage())
				continue
			}
			sameFindings(t, fmt.Sprintf("seed %d: %+v", seed, opt), r, ref, src, false)
		}
	}
	if compared < 40 || withFindings < 12 {
		t.Fatalf("compared %d designs, %d with findings", compared, withFindings)
	}
	t.Logf("compared %d designs, %d with findings", compared, withFindings)
}
