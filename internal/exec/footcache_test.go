package exec

import (
	"math/rand/v2"
	"os"
	"slices"
	"testing"

	"github.com/fencecheck/fencecheck/internal/gen"
	"github.com/fencecheck/fencecheck/internal/kernel"
	"github.com/fencecheck/fencecheck/internal/model"
	"github.com/fencecheck/fencecheck/internal/scenariotest"
)

// TestFootprintCache drives explorations of every bundled scenario and of
// a small driver design along random interleavings, and checks at every
// scheduling point that each enabled thread's kept footprint (per thread,
// and per op while its footTag holds), releases and wouldBlock answer
// equal a fresh computation: the cache must never hand the explorer a
// footprint from an older state.
func TestFootprintCache(t *testing.T) {
	progs := map[string]*kernel.Program{}
	scenariotest.EachLibrary(t, 300, func(path string, sc *model.Scenario) {
		progs[path] = kernel.Compile(sc)
	})
	progs["driver 3"] = scenariotest.Compile(t, "driver.yaml", gen.Driver(3))
	// Threads mapping, zapping and flushing one VM at once: without it no
	// kept page-table footprint ever met a change of the page tables
	// (a review removed each hw.MMU.Version bump in turn; only this design
	// noticed).
	const pagetables = "testdata/pagetables.yaml"
	data, err := os.ReadFile(pagetables)
	if err != nil {
		t.Fatal(err)
	}
	progs[pagetables] = scenariotest.Compile(t, pagetables, string(data))
	checked := 0
	for name, p := range progs {
		runs := uint64(3)
		if name == pagetables {
			runs = 200 // small, and what it tests needs the right interleaving
		}
		for run := uint64(0); run < runs; run++ {
			rng := rand.New(rand.NewPCG(run, 7))
			m := NewMachine(p, 0, false)
			for point := 0; point < 3000; point++ {
				en := m.Enabled()
				if len(en) == 0 {
					break
				}
				for _, a := range m.acts {
					if a.t == nil {
						continue
					}
					// Ask twice: the second answer is the kept one.
					m.s.footprint(a)
					m.s.releases(a)
					m.s.freshFoot = true // neither the thread's nor the op's kept footprint
					want := m.s.footprintOf(a)
					m.s.freshFoot = false
					if got := m.s.footprint(a); !slices.Equal(got, want) || (got == nil) != (want == nil) {
						t.Fatalf("%s run %d point %d: %s footprint kept %q, fresh %q", name, run, point, actorID(a), got, want)
					}
					if got, want := m.s.releases(a), m.s.threadReleases(a.t); !slices.Equal(got, want) {
						t.Fatalf("%s run %d point %d: %s releases kept %q, fresh %q", name, run, point, actorID(a), got, want)
					}
					got := m.s.wouldBlock(a.t)
					if fresh, _, _ := m.s.wouldBlockNow(a.t); got != fresh {
						t.Fatalf("%s run %d point %d: %s wouldBlock kept %v, fresh %v", name, run, point, actorID(a), got, fresh)
					}
					checked++
				}
				m.Step(rng.IntN(len(en)))
			}
		}
	}
	if checked < 10000 {
		t.Fatalf("only %d footprints checked", checked)
	}
}
