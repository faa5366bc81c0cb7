package exec

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/fencecheck/fencecheck/internal/gen"
	"github.com/fencecheck/fencecheck/internal/kernel"
	"github.com/fencecheck/fencecheck/internal/model"
)

// TestFootprintCache drives explorations of every bundled scenario and of
// a small driver design along random interleavings, and checks at every
// scheduling point that each enabled thread's kept footprint (per thread,
// and per op while its footTag holds), releases and wouldBlock answer
// equal a fresh computation: the cache must never hand the explorer a
// footprint from an older state.
func TestFootprintCache(t *testing.T) {
	files, _ := filepath.Glob("../../scenarios/*/*.yaml")
	more, _ := filepath.Glob("../../scenarios/*/*/*.yaml")
	files = append(files, more...)
	if len(files) < 50 {
		t.Fatalf("library too small: %d", len(files))
	}
	progs := map[string]*kernel.Program{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if sc, ds := model.Load(f, data, model.Options{}); sc != nil && len(ds) == 0 {
			progs[f] = kernel.Compile(sc)
		}
	}
	if sc, ds := model.Load("driver.yaml", []byte(gen.Driver(3)), model.Options{}); sc != nil && len(ds) == 0 {
		progs["driver 3"] = kernel.Compile(sc)
	} else {
		t.Fatalf("driver design does not load: %v", ds)
	}
	// Threads mapping, zapping and flushing one VM at once: without it no
	// kept page-table footprint ever met a change of the page tables
	// (a review removed each hw.MMU.Version bump in turn; only this design
	// noticed).
	const pagetables = "testdata/pagetables.yaml"
	data, err := os.ReadFile(pagetables)
	if err != nil {
		t.Fatal(err)
	}
	if sc, ds := model.Load(pagetables, data, model.Options{}); sc != nil && len(ds) == 0 {
		progs[pagetables] = kernel.Compile(sc)
	} else {
		t.Fatalf("%s does not load: %v", pagetables, ds)
	}
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
