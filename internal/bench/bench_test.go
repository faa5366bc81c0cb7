// Package bench measures each pipeline stage on generated designs:
// go test ./internal/bench -bench . -benchmem (see docs/performance.md).
package bench

import (
	"bytes"
	"fmt"
	"runtime"
	"sync"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/fencecheck/fencecheck/internal/analysis"
	"github.com/fencecheck/fencecheck/internal/exec"
	"github.com/fencecheck/fencecheck/internal/explore"
	"github.com/fencecheck/fencecheck/internal/gen"
	"github.com/fencecheck/fencecheck/internal/graph"
	"github.com/fencecheck/fencecheck/internal/kernel"
	"github.com/fencecheck/fencecheck/internal/model"
	"github.com/fencecheck/fencecheck/internal/report"
)

// sizes: lockdep scale (MAX_LOCKDEP_KEYS classes, MAX_LOCKDEP_ENTRIES
// dependencies) and 10x; 100x is in BenchmarkAnalysis100x.
var sizes = []struct {
	name          string
	classes, deps int
}{
	{"lockdep-1x", 8192, 32768},
	{"lockdep-10x", 81920, 327680},
}

var (
	cacheMu sync.Mutex
	cache   = map[string][]byte{}
)

func randomYAML(classes, deps int) []byte {
	cacheMu.Lock()
	defer cacheMu.Unlock()
	k := fmt.Sprint(classes, deps)
	if b, ok := cache[k]; ok {
		return b
	}
	b := []byte(gen.Random(classes, deps, false, 1))
	cache[k] = b
	return b
}

func load(b *testing.B, data []byte) *model.Scenario {
	sc, ds := model.Load("bench.yaml", data, model.Options{MaxBytes: 1 << 30})
	if sc == nil || len(ds) > 0 {
		b.Fatalf("generated design does not load: %v", ds)
	}
	return sc
}

func BenchmarkStages(b *testing.B) {
	for _, sz := range sizes {
		data := randomYAML(sz.classes, sz.deps)
		// The floor: the yaml.v3 parse every check pays, for the ratio.
		b.Run(sz.name+"/parse", func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for i := 0; i < b.N; i++ {
				var n yaml.Node
				if err := yaml.Unmarshal(data, &n); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(sz.name+"/load", func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for i := 0; i < b.N; i++ {
				load(b, data)
			}
		})
		sc := load(b, data)
		b.Run(sz.name+"/compile", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				kernel.Compile(sc)
			}
		})
		prog := kernel.Compile(sc)
		b.Run(sz.name+"/execute", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				exec.Run(prog, exec.Options{Schedules: analysis.DefaultSchedules, Seed: 1, Only: -1})
			}
		})
		// The default exploration (what check runs): the FIFO measurement
		// plus the systematic exploration.
		b.Run(sz.name+"/explore", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				explore.Run(prog, explore.Options{Exhaustive: true})
			}
		})
		b.Run(sz.name+"/graph-build", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				graph.Build(prog, graph.Precise)
			}
		})
		b.Run(sz.name+"/cycles", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				g, _ := graph.Build(prog, graph.Precise)
				b.StartTimer()
				g.Findings("bench.yaml")
			}
		})
		res := analysis.Run(sc, analysis.Options{})
		b.Run(sz.name+"/report", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				var buf bytes.Buffer
				_ = report.Write(&buf, "json", []report.FileResult{{Path: "bench.yaml", Source: data, Diags: res.Diags}}, report.Options{})
			}
		})
		b.Run(sz.name+"/end-to-end", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				analysis.Run(load(b, data), analysis.Options{})
			}
		})
	}
}

// BenchmarkChain is the family the SPIN comparison uses (perf-anchors.md):
// N devices in a dependency chain with K bystander threads, end to end.
func BenchmarkChain(b *testing.B) {
	for _, n := range []int{2, 4, 8, 16, 32, 64} {
		for _, k := range []int{0, 4, 16} {
			for _, fixed := range []bool{false, true} {
				data := []byte(gen.Chain(n, k, fixed))
				name := fmt.Sprintf("N=%d/K=%d/%s", n, k, map[bool]string{true: "fixed", false: "deadlock"}[fixed])
				b.Run(name, func(b *testing.B) {
					for i := 0; i < b.N; i++ {
						analysis.Run(load(b, data), analysis.Options{})
					}
				})
			}
		}
	}
}

// BenchmarkAnalysis measures the analysis alone (graph build, SCC, witness
// cycles) on programs built without YAML, at 1x, 2x, 10x and 100x lockdep
// scale, acyclic and with one injected cycle, to show it is linear.
func BenchmarkAnalysis(b *testing.B) {
	for _, f := range []int{1, 2, 10, 100} {
		for _, cyc := range []bool{false, true} {
			name := fmt.Sprintf("x%d/%s", f, map[bool]string{true: "cycle", false: "acyclic"}[cyc])
			b.Run(name, func(b *testing.B) {
				prog := gen.RandomProgram(8192*f, 32768*f, cyc, 1)
				runtime.GC()
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				b.ResetTimer()
				var found int
				var g *graph.Graph
				for i := 0; i < b.N; i++ {
					g, _ = graph.Build(prog, graph.Precise)
					found = len(g.Findings("generated"))
				}
				b.StopTimer()
				runtime.GC()
				runtime.ReadMemStats(&after)
				// Live heap the analysis keeps (the graph), beyond the input.
				b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/(1<<20), "graph-MB")
				runtime.KeepAlive(g)
				runtime.KeepAlive(prog)
				if (found > 0) != cyc {
					b.Fatalf("cycle=%v but %d findings", cyc, found)
				}
			})
		}
	}
}
