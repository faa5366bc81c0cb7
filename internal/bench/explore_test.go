package bench

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/fencecheck/fencecheck/internal/explore"
	"github.com/fencecheck/fencecheck/internal/gen"
	"github.com/fencecheck/fencecheck/internal/kernel"
)

// contended rewrites a chain design so that every bystander takes the same
// two locks (perf-anchors.md's contended variant): bystanders then conflict
// with each other and partial-order reduction cannot drop their orders.
func contended(src string) string {
	decl := regexp.MustCompile(`(?m)^  - \{name: bystander[1-9][0-9]*_[ab], kind: [a-z]+\}\n`)
	src = decl.ReplaceAllString(src, "")
	use := regexp.MustCompile(`bystander[0-9]+_([ab])`)
	return use.ReplaceAllString(src, "bystander0_$1")
}

func chainProgram(b *testing.B, n, k int, fixed, shared bool) *kernel.Program {
	src := gen.Chain(n, k, fixed)
	if shared {
		src = contended(src)
	}
	return kernel.Compile(load(b, []byte(src)))
}

// BenchmarkExploreChain: the default exploration (exhaustive DPOR with
// sleep sets and atomic critical sections, default budgets) of the chain
// family, N devices and K bystanders, deadlocking and fixed, and the
// contended variant; reports the interleavings explored, the scheduling
// points taken (replays included) and whether the exploration completed.
func BenchmarkExploreChain(b *testing.B) {
	type cfg struct {
		n, k          int
		fixed, shared bool
	}
	var cfgs []cfg
	for _, fixed := range []bool{false, true} {
		for n := 4; n <= 8; n++ {
			for k := 0; k <= 4; k++ {
				cfgs = append(cfgs, cfg{n, k, fixed, false})
			}
		}
	}
	cfgs = append(cfgs, cfg{4, 4, true, true}, cfg{4, 10, true, true})
	for _, c := range cfgs {
		name := fmt.Sprintf("N=%d/K=%d/%s", c.n, c.k, map[bool]string{true: "fixed", false: "deadlocking"}[c.fixed])
		if c.shared {
			name = fmt.Sprintf("contended/N=%d/K=%d", c.n, c.k)
		}
		b.Run(name, func(b *testing.B) {
			p := chainProgram(b, c.n, c.k, c.fixed, c.shared)
			b.ReportAllocs()
			var r *explore.Result
			for i := 0; i < b.N; i++ {
				r = explore.Run(p, explore.Options{Exhaustive: true}) // the default, budgets included
			}
			b.ReportMetric(float64(r.Total), "interleavings")
			b.ReportMetric(float64(r.Steps), "points")
			if !r.Complete {
				b.ReportMetric(0, "complete")
			} else {
				b.ReportMetric(1, "complete")
			}
		})
	}
}

func TestContendedRewrite(t *testing.T) {
	src := contended(gen.Chain(4, 3, true))
	if strings.Contains(src, "bystander1_a") || strings.Count(src, "{name: bystander0_a,") != 1 || strings.Count(src, "- lock: bystander0_a") != 3 {
		t.Fatalf("contended rewrite:\n%s", src)
	}
}
