package gen_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/fencecheck/fencecheck/internal/analysis"
	"github.com/fencecheck/fencecheck/internal/gen"
	"github.com/fencecheck/fencecheck/internal/model"
	"github.com/fencecheck/fencecheck/internal/rules"
)

func load(t *testing.T, name, src string) *model.Scenario {
	t.Helper()
	sc, ds := model.Load(name, []byte(src), model.Options{})
	if sc == nil || len(ds) > 0 {
		t.Fatalf("%s does not lint clean: %+v", name, ds)
	}
	return sc
}

// TestChainFamily: for every N and K tried, the deadlocking variant reports
// the cycle through every device's fence, fs_reclaim and the notifier, and
// the fixed variant is clean.
func TestChainFamily(t *testing.T) {
	for n := 1; n <= 6; n++ {
		for k := 0; k <= 3; k++ {
			bad := load(t, "bad", gen.Chain(n, k, false))
			res := analysis.Run(bad, analysis.Options{Schedules: 2})
			found := false
			for _, d := range res.Diags {
				if d.Rule != rules.Cycle {
					continue
				}
				cyc := strings.Join(d.Cycle, " ")
				ok := strings.Contains(cyc, "fs_reclaim") && strings.Contains(cyc, "notifier(uptr)")
				for i := 0; i < n; i++ {
					ok = ok && strings.Contains(" "+cyc+" ", fmt.Sprintf(" fence%d ", i))
				}
				found = found || ok
			}
			if !found {
				t.Errorf("chain N=%d K=%d: cycle through all %d fences not reported: %+v", n, k, n, res.Diags)
			}
			fixed := load(t, "fixed", gen.Chain(n, k, true))
			if ds := analysis.Run(fixed, analysis.Options{Schedules: 4}).Diags; len(ds) > 0 {
				t.Errorf("chain N=%d K=%d fixed: want clean, got %+v", n, k, ds)
			}
		}
	}
}

func TestRandomFamily(t *testing.T) {
	for _, size := range []struct{ c, d int }{{8, 10}, {64, 300}, {512, 2048}, {2048, 8192}} {
		for seed := uint64(1); seed <= 3; seed++ {
			clean := load(t, "r", gen.Random(size.c, size.d, false, seed))
			if v := analysis.Verify(clean); v.Status != "pass" {
				t.Errorf("random %v seed %d: acyclic design reported: %+v", size, seed, v.Problems)
			}
			cyc := load(t, "rc", gen.Random(size.c, size.d, true, seed))
			if v := analysis.Verify(cyc); v.Status != "pass" {
				t.Errorf("random %v seed %d --cycle: %+v", size, seed, v.Problems)
			}
		}
	}
	if gen.Random(64, 300, false, 7) != gen.Random(64, 300, false, 7) {
		t.Error("generator is not deterministic from its seed")
	}
}

func TestDriverFamily(t *testing.T) {
	for _, f := range []int{1, 2, 5, 20} {
		sc := load(t, "driver", gen.Driver(f))
		// The default exploration stops at its budget on every scale
		// (docs/performance.md) after seconds of work; the verdicts the
		// generator writes are checked on FIFO and seven random schedules.
		if v := analysis.VerifyWith(sc, analysis.Options{Explore: "random=8"}); v.Status != "pass" {
			t.Errorf("driver x%d: %+v", f, v.Problems)
		}
	}
}
