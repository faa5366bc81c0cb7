package bench

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/fencecheck/fencecheck/internal/analysis"
	"github.com/fencecheck/fencecheck/internal/graph"
	"github.com/fencecheck/fencecheck/internal/importer"
	"github.com/fencecheck/fencecheck/internal/lockdepproc"
	"github.com/fencecheck/fencecheck/internal/model"
)

// A small design checked against a kernel base at lockdep's caps (8,192
// classes, 32,768 observed dependencies, generated from /proc/lockdep's
// format): the cost to compare with is loading the base's YAML.

const baseDesign = `fencecheck: 1
name: a notifier checked against a running kernel
base: kernel.lockdep.yaml
locks:
  - {name: "&drv->notifier_lock", kind: mutex}
paths:
  # &gpu13->lock789 is held around an allocation in the generated kernel
  # (observed: it reaches fs_reclaim), so taking it in a notifier closes a
  # cycle through observed dependencies.
  - name: drv_invalidate
    context: notifier
    steps:
      - lock: "&drv->notifier_lock"
      - lock: "&gpu13->lock789"
      - unlock: "&gpu13->lock789"
      - unlock: "&drv->notifier_lock"
`

func baseFiles(b *testing.B) (dir string, base []byte) {
	b.Helper()
	ld, ch := lockdepproc.Generate(8192, 32768, 7)
	db, err := lockdepproc.Parse(ld)
	if err != nil {
		b.Fatal(err)
	}
	if err := db.ParseChains(ch); err != nil {
		b.Fatal(err)
	}
	dir = b.TempDir()
	base = []byte(importer.WriteBase(db, "generated kernel"))
	if err := os.WriteFile(filepath.Join(dir, "kernel.lockdep.yaml"), base, 0o644); err != nil {
		b.Fatal(err)
	}
	return dir, base
}

// BenchmarkBaseLoad: loading the base YAML alone (the reference).
func BenchmarkBaseLoad(b *testing.B) {
	dir, base := baseFiles(b)
	b.SetBytes(int64(len(base)))
	b.ResetTimer()
	c0 := cpuTime()
	for i := 0; i < b.N; i++ {
		if sc, ds := model.Load(filepath.Join(dir, "kernel.lockdep.yaml"), base, model.Options{}); sc == nil || len(ds) > 0 {
			b.Fatal(ds)
		}
	}
	reportCPU(b, c0)
}

func reportCPU(b *testing.B, c0 int64) {
	if c := cpuTime(); c > 0 {
		b.ReportMetric(float64(c-c0)/1e6/float64(b.N), "cpu-ms/op")
	}
}

// BenchmarkBaseCheck: the design loaded (its base read and loaded afresh)
// and checked end to end, per mode.
func BenchmarkBaseCheck(b *testing.B) {
	dir, _ := baseFiles(b)
	p := filepath.Join(dir, "design.yaml")
	for _, mode := range []graph.Mode{graph.Lockdep, graph.Precise} {
		b.Run(string(mode), func(b *testing.B) {
			c0 := cpuTime()
			defer reportCPU(b, c0)
			for i := 0; i < b.N; i++ {
				sc, ds := model.Load(p, []byte(baseDesign), model.Options{Bases: &model.BaseCache{}})
				if sc == nil || len(ds) > 0 {
					b.Fatal(ds)
				}
				if res := analysis.Run(sc, analysis.Options{Mode: mode}); !observedCycle(res) {
					b.Fatal("no cycle through observed dependencies")
				}
			}
		})
	}
}

// BenchmarkBaseCheckCached: the same with the base already loaded, as when
// one run checks many designs that share it.
func BenchmarkBaseCheckCached(b *testing.B) {
	dir, _ := baseFiles(b)
	p := filepath.Join(dir, "design.yaml")
	cache := &model.BaseCache{}
	for _, mode := range []graph.Mode{graph.Lockdep, graph.Precise} {
		b.Run(string(mode), func(b *testing.B) {
			c0 := cpuTime()
			defer reportCPU(b, c0)
			for i := 0; i < b.N; i++ {
				sc, ds := model.Load(p, []byte(baseDesign), model.Options{Bases: cache})
				if sc == nil || len(ds) > 0 {
					b.Fatal(ds)
				}
				if res := analysis.Run(sc, analysis.Options{Mode: mode}); !observedCycle(res) {
					b.Fatal("no cycle through observed dependencies")
				}
			}
		})
	}
}

func observedCycle(res *analysis.Result) bool {
	for _, d := range res.Diags {
		for _, st := range d.Chain {
			if st.Kind == string(graph.EdgeObserved) {
				return true
			}
		}
	}
	return false
}
