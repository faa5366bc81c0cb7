package exec_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/fencecheck/fencecheck/internal/exec"
	"github.com/fencecheck/fencecheck/internal/gen"
	"github.com/fencecheck/fencecheck/internal/kernel"
	"github.com/fencecheck/fencecheck/internal/model"
	"github.com/fencecheck/fencecheck/internal/scenariotest"
)

// The explorer's reductions (DPOR, sleep sets, state caching, the FIFO
// schedule's skipped reclaim callbacks) all rest on one claim: two enabled
// transitions whose footprints do not conflict (exec.Dependent) commute —
// taking them in either order leaves the same state, and neither disables
// the other. A footprint that leaves out something its step reads or
// writes breaks the claim, and the explorer then misses interleavings.
// commutes checks the claim on a program: along a few random walks, at
// every state near the start and at fewer further on, it takes each
// independent pair of enabled transitions both ways from the same prefix
// (a Machine is deterministic, so replaying the prefix reaches the same
// state) and compares the states (SettledFingerprint).
//
// At the same states it checks that no step enables another actor's
// blocked transition while declared independent of it
// (noHiddenEnabling).
//
// Removing a needed entry from a footprint fails it: the fence a wait
// reads, the fences wait_resv reads, the site an allocation reclaims at,
// the range munmap unmaps, what a zap that clears nothing found unmapped
// (testdata/pagetables.yaml, from a review), and, on more seeds than run
// here, the resv a fence is added to.
func commutes(t *testing.T, name string, p *kernel.Program, rng *rand.Rand, walks, maxPairs int) (checked int) {
	t.Helper()
	budget := exec.StepBudget(p)
	replay := func(prefix []string) *exec.Machine {
		m := exec.NewMachine(p, budget, false)
		for _, id := range prefix {
			if !stepActor(m, id) {
				t.Fatalf("%s: replaying %v: %s is not enabled", name, prefix, id)
			}
		}
		return m
	}
	for w := 0; w < walks; w++ {
		var prefix []string
		m := replay(nil)
		for depth := 0; depth < 400; depth++ {
			en := m.Enabled()
			if len(en) == 0 {
				break
			}
			// Every state near the start, fewer further on: each check
			// replays the prefix twice.
			pairs := 0
			sampled := rng.IntN(1+depth/16) == 0
			if !sampled {
				pairs = maxPairs
			}
			for i := 0; i < len(en) && pairs < maxPairs; i++ {
				for j := i + 1; j < len(en) && pairs < maxPairs; j++ {
					if exec.Dependent(en[i], en[j]) {
						continue
					}
					pairs++
					checked++
					a, b := en[i], en[j]
					ab, okAB := both(replay(prefix), a.Actor, b.Actor)
					ba, okBA := both(replay(prefix), b.Actor, a.Actor)
					if !okAB || !okBA || ab != ba {
						t.Errorf("%s: after %v, %s %q and %s %q are declared independent but do not commute (a then b enabled: %v, b then a: %v, same state: %v)",
							name, prefix, a.Actor, a.Foot, b.Actor, b.Foot, okAB, okBA, ab == ba)
						return checked
					}
				}
			}
			if sampled {
				n, ok := noHiddenEnabling(t, name, m, en, prefix, replay, maxPairs)
				checked += n
				if !ok {
					return checked
				}
			}
			k := rng.IntN(len(en))
			prefix = append(prefix, en[k].Actor)
			m.Step(k)
		}
	}
	return checked
}

// noHiddenEnabling checks the other half of independence: a step must
// not enable another actor's pending transition (a thread blocked on a
// lock, a fence, an unpublished in-fence or an invalidation; a scheduler
// waiting for a job's dependencies) unless the two are dependent. DPOR
// finds the step that made a blocked transition runnable through that
// dependency; without it, the step would be reordered after a wait it
// ended. It takes up to max enabled transitions from the state m is in
// (reached by prefix) and reports whether none enabled an independent
// pending one.
func noHiddenEnabling(t *testing.T, name string, m *exec.Machine, en []exec.Transition, prefix []string, replay func([]string) *exec.Machine, max int) (checked int, ok bool) {
	t.Helper()
	enabled := map[string]bool{}
	for _, e := range en {
		enabled[e.Actor] = true
	}
	var disabled []exec.Transition
	for _, p := range m.Pending() {
		if !enabled[p.Actor] {
			disabled = append(disabled, p)
		}
	}
	if len(disabled) == 0 {
		return 0, true
	}
	for i, e := range en {
		if i == max {
			break
		}
		after := replay(prefix)
		stepActor(after, e.Actor)
		now := map[string]exec.Transition{}
		for _, x := range after.Enabled() {
			now[x.Actor] = x
		}
		for _, p := range disabled {
			x, on := now[p.Actor]
			checked++
			// A transition with no footprint is ordered after every
			// other (a fallback ran: a timeout, a foreign signal).
			if p.Actor == e.Actor || !on || x.Foot == nil {
				continue
			}
			if !exec.Dependent(e, p) {
				t.Errorf("%s: after %v, %s %q enables %s (pending %q, blocked on %q) but the two are declared independent",
					name, prefix, e.Actor, e.Foot, p.Actor, p.Foot, p.Blocked)
				return checked, false
			}
		}
	}
	return checked, true
}

// both takes x then y and returns the state's fingerprint; false when y is
// not enabled after x.
func both(m *exec.Machine, x, y string) ([2]uint64, bool) {
	if !stepActor(m, x) || !stepActor(m, y) {
		return [2]uint64{}, false
	}
	return m.SettledFingerprint(), true
}

func stepActor(m *exec.Machine, id string) bool {
	for i, tr := range m.Enabled() {
		if tr.Actor == id {
			m.Step(i)
			return true
		}
	}
	return false
}

// TestIndependentTransitionsCommuteOnTheLibrary checks the claim on every
// scenario of the library.
func TestIndependentTransitionsCommuteOnTheLibrary(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	total := 0
	scenariotest.EachLibrary(t, 300, func(path string, sc *model.Scenario) {
		p := kernel.Compile(sc)
		if p.OverBudget {
			return
		}
		total += commutes(t, path, p, rng, 8, 10)
	})
	// About 31,500 on the library today: far fewer means the walks no
	// longer reach states with independent steps.
	t.Logf("%d independent pairs and blocked transitions checked", total)
	if total < 10000 {
		t.Errorf("only %d independent pairs and blocked transitions checked on the library", total)
	}
}

// TestIndependentTransitionsCommuteOnRandomDesigns checks the claim on
// random designs (per-object locks, ww contexts with backoff, trylock
// failure branches, fences; shrinkers and notifiers under memory
// pressure) and on small driver-shaped and chain designs (jobs,
// schedulers, VM_BIND, page tables, munmap).
func TestIndependentTransitionsCommuteOnRandomDesigns(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	total := 0
	for seed := uint64(0); seed < 80; seed++ {
		total += commutes(t, fmt.Sprintf("randomDesign(%d)", seed), scenariotest.Compile(t, "r.yaml", randomDesign(seed)), rng, 3, 10)
		total += commutes(t, fmt.Sprintf("reclaimDesign(%d)", seed), scenariotest.Compile(t, "r.yaml", exec.ReclaimDesign(seed)), rng, 3, 10)
	}
	for f := 1; f <= 3; f++ {
		total += commutes(t, fmt.Sprintf("gen.Driver(%d)", f), scenariotest.Compile(t, "d.yaml", gen.Driver(f)), rng, 3, 10)
	}
	// Page-table steps racing on one VM (the library has none that
	// catches a zap's footprint leaving out what it found unmapped).
	data, err := os.ReadFile("testdata/pagetables.yaml")
	if err != nil {
		t.Fatal(err)
	}
	total += commutes(t, "testdata/pagetables.yaml", scenariotest.Compile(t, "testdata/pagetables.yaml", string(data)), rng, 20, 10)
	for n := 2; n <= 4; n++ {
		for _, fixed := range []bool{false, true} {
			total += commutes(t, fmt.Sprintf("gen.Chain(%d, 2, %v)", n, fixed), scenariotest.Compile(t, "c.yaml", gen.Chain(n, 2, fixed)), rng, 3, 10)
		}
	}
	// About 99,000 today.
	t.Logf("%d independent pairs and blocked transitions checked", total)
	if total < 30000 {
		t.Errorf("only %d independent pairs and blocked transitions checked", total)
	}
}
