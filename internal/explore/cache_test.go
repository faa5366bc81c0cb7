package explore_test

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/fencecheck/fencecheck/internal/diag"
	"github.com/fencecheck/fencecheck/internal/explore"
	"github.com/fencecheck/fencecheck/internal/kernel"
	"github.com/fencecheck/fencecheck/internal/model"
)

// smallDesign writes a random design of a few threads that take and drop
// mutexes, wait for fences and signal them, in arbitrary orders: the
// shapes where interleavings reach one state by different orders of
// dependent steps, which is where state caching must not lose races.
func smallDesign(seed uint64, threads, maxSteps int) string {
	r := rand.New(rand.NewPCG(seed, 7))
	nLocks, nFences, nThreads := 2+r.IntN(2), 1+r.IntN(2), threads+r.IntN(2)
	var b strings.Builder
	b.WriteString("fencecheck: 1\nname: small random design\nlocks:\n")
	for i := 0; i < nLocks; i++ {
		fmt.Fprintf(&b, "  - {name: L%d, kind: mutex}\n", i)
	}
	b.WriteString("fences:\n")
	for i := 0; i < nFences; i++ {
		fmt.Fprintf(&b, "  - {name: F%d}\n", i)
	}
	b.WriteString("paths:\n")
	for t := 0; t < nThreads; t++ {
		var steps []string
		held := []int{}
		signals := ""
		if t < nFences {
			signals = fmt.Sprintf(", signals: [F%d]", t)
		}
		signalled := false
		for n := 2 + r.IntN(maxSteps-1); n > 0; n-- {
			switch x := r.IntN(10); {
			case x < 4:
				l := r.IntN(nLocks)
				if !slices.Contains(held, l) {
					held = append(held, l)
					steps = append(steps, fmt.Sprintf("{lock: L%d}", l))
				}
			case x < 7 && len(held) > 0:
				i := r.IntN(len(held))
				steps = append(steps, fmt.Sprintf("{unlock: L%d}", held[i]))
				held = append(held[:i], held[i+1:]...)
			case x < 9:
				if f := r.IntN(nFences); f != t {
					steps = append(steps, fmt.Sprintf("{wait: F%d}", f))
				}
			default:
				if t < nFences && !signalled {
					steps = append(steps, fmt.Sprintf("{signal: F%d}", t))
					signalled = true
				}
			}
		}
		if t < nFences && !signalled {
			steps = append(steps, fmt.Sprintf("{signal: F%d}", t))
		}
		for i := len(held) - 1; i >= 0; i-- {
			steps = append(steps, fmt.Sprintf("{unlock: L%d}", held[i]))
		}
		fmt.Fprintf(&b, "  - {name: t%d, context: %s%s, steps: [%s]}\n", t, []string{"ioctl", "worker"}[t%2], signals, strings.Join(steps, ", "))
	}
	b.WriteString("workload:\n")
	for t := 0; t < nThreads; t++ {
		fmt.Fprintf(&b, "  - run: t%d\n", t)
	}
	return b.String()
}

// TestStateCachingLosesNothing: on random small designs, exhaustive DPOR
// with state caching finds exactly what it finds without.
func TestStateCachingLosesNothing(t *testing.T) {
	compared, joined := 0, 0
	for seed := uint64(1); seed <= 300; seed++ {
		p, src := smallProgram(t, seed, 3, 6)
		with := explore.Run(p, explore.Options{Exhaustive: true, Budget: 3000})
		without := explore.Run(p, explore.Options{Exhaustive: true, Budget: 3000, NoCache: true})
		if !with.Complete || !without.Complete {
			continue
		}
		compared++
		if with.Joined > 0 {
			joined++
		}
		sameFindings(t, fmt.Sprintf("seed %d: with state caching", seed), with, without, src, true)
	}
	if compared < 250 || joined < 200 {
		t.Fatalf("compared %d designs, %d joined an explored state", compared, joined)
	}
	t.Logf("compared %d designs, %d joined an explored state", compared, joined)
}

// TestDPORLosesNothingOnTinyDesigns: on random tiny designs, the default
// exploration (DPOR, sleep sets, atomic sections, state caching) and DPOR
// without state caching each find everything brute force finds within two
// preemptions: every such interleaving, step by step, with no reduction.
func TestDPORLosesNothingOnTinyDesigns(t *testing.T) {
	compared := 0
	for seed := uint64(1); seed <= 200; seed++ {
		p, src := smallProgram(t, seed, 3, 4)
		ref := explore.Run(p, explore.Options{Bound: 2, NoReduction: true, Stepwise: true, Budget: 1000})
		if !ref.Complete {
			continue
		}
		compared++
		findsWhatRefFinds(t, seed, p, ref, src, 0)
	}
	if compared < 100 {
		t.Fatalf("compared %d designs", compared)
	}
	t.Logf("compared %d designs", compared)
}

// findsWhatRefFinds: the default exploration and DPOR without state
// caching each find everything ref found. With budget 0 (the default
// budgets) both must complete; with a budget, an exploration that stops
// at it is not compared. It says whether both completed.
func findsWhatRefFinds(t *testing.T, seed uint64, p *kernel.Program, ref *explore.Result, src string, budget int) bool {
	t.Helper()
	complete := true
	for _, opt := range []explore.Options{{Exhaustive: true, Budget: budget}, {Exhaustive: true, NoCache: true, Budget: budget}} {
		r := explore.Run(p, opt)
		if !r.Complete {
			if budget == 0 {
				t.Errorf("seed %d: %+v: %s", seed, opt, r.Coverage())
			}
			complete = false
			continue
		}
		sameFindings(t, fmt.Sprintf("seed %d: %+v", seed, opt), r, ref, src, false)
	}
	return complete
}

func smallProgram(t *testing.T, seed uint64, threads, steps int) (*kernel.Program, string) {
	t.Helper()
	src := smallDesign(seed, threads, steps)
	return loadSrc(t, src), src
}

func loadSrc(t *testing.T, src string) *kernel.Program {
	t.Helper()
	sc, ds := model.Load("random.yaml", []byte(src), model.Options{})
	if sc == nil || len(ds) > 0 {
		t.Fatalf("%v\n%s", ds, src)
	}
	return kernel.Compile(sc)
}

// sameFindings: got finds what want finds (and, if exact, nothing else).
func sameFindings(t *testing.T, what string, got, want *explore.Result, src string, exact bool) {
	t.Helper()
	g, w := allKeys(got.Findings), allKeys(want.Findings)
	for k := range w {
		if !g[k] {
			t.Errorf("%s misses %q\n%s", what, k, src)
		}
	}
	for k := range g {
		if exact && !w[k] {
			t.Errorf("%s finds %q that the reference does not\n%s", what, k, src)
		}
	}
}

var interleavingName = regexp.MustCompile(`interleaving x[0-9:.]*(, [0-9]+ preemptions?)?|schedule [0-9]+, seed [0-9]+`)

// allKeys identifies findings, hangs included: by rule and fingerprint,
// or without a fingerprint by rule, position and message, with the
// interleaving (or random schedule) the message names left out.
func allKeys(ds []diag.Diagnostic) map[string]bool {
	out := map[string]bool{}
	for _, d := range ds {
		if d.Fingerprint != "" {
			// One finding, whose explanation and position may differ
			// between the interleavings that show it (a fence never
			// signalled because its job waits, or because it was never
			// submitted; a hang's cycle entered at another thread's wait):
			// the explorer keeps one witness per fingerprint.
			out[d.Rule+"\x00"+d.Fingerprint] = true
			continue
		}
		out[d.Rule+"\x00"+d.Pos.String()+"\x00"+interleavingName.ReplaceAllString(d.Message, "interleaving")] = true
	}
	return out
}
