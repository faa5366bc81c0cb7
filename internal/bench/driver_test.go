package bench

import (
	"fmt"
	"testing"

	"github.com/fencecheck/fencecheck/internal/analysis"
	"github.com/fencecheck/fencecheck/internal/exec"
	"github.com/fencecheck/fencecheck/internal/gen"
	"github.com/fencecheck/fencecheck/internal/kernel"
)

// BenchmarkDriver runs the driver-shaped family end to end (load, compile,
// 8 executed schedules with memory pressure, graph, cycles).
func BenchmarkDriver(b *testing.B) {
	for _, f := range []int{1, 10, 50} {
		data := []byte(gen.Driver(f))
		b.Run(fmt.Sprintf("scale=%d", f), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				analysis.Run(load(b, data), analysis.Options{})
			}
		})
	}
}

// BenchmarkExecDriver runs the executor alone on the driver family: FIFO
// (schedule 0) and random schedules (1..7), at growing scale, and reports
// the time per executed step.
func BenchmarkExecDriver(b *testing.B) {
	for _, f := range []int{25, 50, 100} {
		prog := kernel.Compile(load(b, []byte(gen.Driver(f))))
		for _, mode := range []struct {
			name string
			opt  exec.Options
		}{
			{"fifo", exec.Options{Schedules: 1, Seed: 1, Only: -1}},
			{"random", exec.Options{Schedules: 8, Seed: 1, Only: -1}},
		} {
			b.Run(fmt.Sprintf("scale=%d/%s", f, mode.name), func(b *testing.B) {
				b.ReportAllocs()
				steps := 0
				for i := 0; i < b.N; i++ {
					for _, sch := range exec.Run(prog, mode.opt).Schedules {
						steps += sch.Steps
					}
				}
				// The cost per step of the design (the steps grow with the
				// square of the scale: every allocation site's direct
				// reclaim runs every device's shrinker and notifier). FIFO
				// skips the callbacks whose re-run would change nothing
				// and counts their steps as taken (exec/reclaimmemo.go),
				// so its cost per step falls as the scale grows; random
				// schedules take every step.
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(steps), "ns/step")
				b.ReportMetric(float64(steps)/float64(b.N), "steps/op")
			})
		}
	}
}
