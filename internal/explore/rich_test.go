package explore_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/fencecheck/fencecheck/internal/exec"
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
				if !slices.Contains(held, l) {
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
			case x < 10 && !slices.Contains(held, "nlock"):
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
		findsWhatRefFinds(t, seed, p, ref, src, 0)
	}
	if compared < 40 || withFindings < 12 {
		t.Fatalf("compared %d designs, %d with findings", compared, withFindings)
	}
	t.Logf("compared %d designs, %d with findings", compared, withFindings)
}

// jobsDesign writes a random design around drm_sched jobs and dma_resv:
// two schedulers, jobs with implicit dependencies through their buffers'
// resvs (and sometimes an explicit one), run_job callbacks that take locks,
// allocate under memory pressure or wait for the other job's fence, and
// ioctls that lock resvs in a ww acquire context to evict, wait or add a
// fence, or take driver locks.
func jobsDesign(seed uint64) string {
	r := rand.New(rand.NewPCG(seed, 13))
	var b strings.Builder
	b.WriteString("fencecheck: 1\nname: random jobs design\ndevices:\n  - name: gpu\n    engines: [{name: gfx}, {name: copy, kind: copy}]\n    schedulers:\n")
	b.WriteString("      - {name: s0, engine: gfx, entities: [{name: q0}], timedout_job: tdr}\n      - {name: s1, engine: copy, entities: [{name: q1}]}\n")
	b.WriteString("locks:\n  - {name: L0, kind: mutex}\n  - {name: L1, kind: mutex}\n")
	b.WriteString("buffers:\n  - {name: b0, device: gpu}\n  - {name: b1, device: gpu}\n")
	if r.IntN(2) == 0 {
		b.WriteString("shrinkers:\n  - {name: shr, scan: shrink}\n")
	}
	usage := func() string { return []string{"WRITE", "READ", "BOOKKEEP"}[r.IntN(3)] }
	b.WriteString("jobs:\n")
	fmt.Fprintf(&b, "  - {name: j0, entity: q0, fence: f0, run_job: rj0, buffers: [{buffer: b0, usage: %s}]}\n", usage())
	deps := ""
	if r.IntN(3) == 0 {
		deps = ", deps: [f0]"
	}
	fmt.Fprintf(&b, "  - {name: j1, entity: q1, fence: f1, run_job: rj1%s, buffers: [{buffer: b%d, usage: %s}]}\n", deps, r.IntN(2), usage())
	step := func(self int) string {
		switch r.IntN(6) {
		case 0:
			return "{lock: L0}, {unlock: L0}"
		case 1:
			return "{lock: L1}, {unlock: L1}"
		case 2:
			return "{alloc: GFP_KERNEL}"
		case 3, 4:
			return fmt.Sprintf("{wait: f%d}", 1-self)
		}
		return ""
	}
	b.WriteString("paths:\n")
	for j := 0; j < 2; j++ {
		var steps []string
		for n := 1 + r.IntN(2); n > 0; n-- {
			if s := step(j); s != "" {
				steps = append(steps, s)
			}
		}
		fmt.Fprintf(&b, "  - {name: rj%d, context: run_job, steps: [%s]}\n", j, strings.Join(steps, ", "))
	}
	b.WriteString("  - {name: tdr, context: timedout_job, steps: []}\n")
	b.WriteString("  - {name: shrink, context: shrinker_scan, steps: [{trylock: b0}, {evict: b0}, {unlock: b0}]}\n")
	nIoctls := 1 + r.IntN(2)
	for i := 0; i < nIoctls; i++ {
		var steps []string
		if r.IntN(2) == 0 {
			steps = append(steps, "{lock: L"+fmt.Sprint(r.IntN(2))+"}")
		}
		order := []string{"b0", "b1"}
		if r.IntN(2) == 0 {
			order = []string{"b1", "b0"}
		}
		steps = append(steps, "{ww_acquire_init: c}", "{lock: "+order[0]+", ctx: c}", "{lock: "+order[1]+", ctx: c}")
		switch r.IntN(3) {
		case 0:
			steps = append(steps, "{evict: "+order[0]+"}")
		case 1:
			steps = append(steps, "{wait_resv: "+order[1]+", usage: "+usage()+"}")
		default:
			steps = append(steps, "{reserve_fences: "+order[0]+"}", "{alloc: GFP_KERNEL}")
		}
		steps = append(steps, "{unlock: "+order[1]+"}", "{unlock: "+order[0]+"}", "{ww_acquire_fini: c}")
		if strings.HasPrefix(steps[0], "{lock: L") {
			steps = append(steps, "{unlock: "+steps[0][7:9]+"}")
		}
		fmt.Fprintf(&b, "  - {name: io%d, context: ioctl, steps: [%s]}\n", i, strings.Join(steps, ", "))
	}
	b.WriteString("workload:\n")
	if r.IntN(2) == 0 {
		b.WriteString("  - memory_pressure: true\n")
	}
	b.WriteString("  - submit: j0\n  - submit: j1\n")
	for i := 0; i < nIoctls; i++ {
		fmt.Fprintf(&b, "  - run: io%d\n", i)
	}
	return b.String()
}

// TestDPORLosesNothingOnJobDesigns: on random designs of jobs,
// schedulers, resvs locked in ww contexts, eviction and reclaim (too many
// steps for brute force), the default exploration and DPOR without state
// caching find everything 200 random schedules find.
func TestDPORLosesNothingOnJobDesigns(t *testing.T) {
	compared, withFindings := 0, 0
	for seed := uint64(1); seed <= 70; seed++ {
		src := jobsDesign(seed)
		p := loadSrc(t, src)
		rnd := exec.Run(p, exec.Options{Schedules: 200, Seed: seed, Only: -1})
		ref := &explore.Result{Findings: rnd.Findings}
		if findsWhatRefFinds(t, seed, p, ref, src, 800) {
			compared++
			if len(ref.Findings) > 0 {
				withFindings++
			}
		}
	}
	if compared < 25 || withFindings < 5 {
		t.Fatalf("compared %d designs, %d with findings", compared, withFindings)
	}
	t.Logf("compared %d designs, %d with findings", compared, withFindings)
}
