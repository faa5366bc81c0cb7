package bench

import (
	"fmt"
	"testing"

	"github.com/fencecheck/fencecheck/internal/analysis"
	"github.com/fencecheck/fencecheck/internal/gen"
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
