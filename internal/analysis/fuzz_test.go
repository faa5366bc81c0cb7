package analysis_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/fencecheck/fencecheck/internal/analysis"
	"github.com/fencecheck/fencecheck/internal/graph"
	"github.com/fencecheck/fencecheck/internal/model"
)

// FuzzPipeline: whatever loads without errors must compile, execute and
// analyse without panicking or hanging, in both modes, and every finding
// must be positioned.
func FuzzPipeline(f *testing.F) {
	seeds, _ := filepath.Glob("../../scenarios/*/*.yaml")
	for _, p := range seeds {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		sc, ds := model.Load("fuzz.yaml", data, model.Options{MaxBytes: 1 << 16})
		if sc == nil || len(ds) > 0 {
			return
		}
		for _, mode := range []graph.Mode{graph.Precise, graph.Lockdep} {
			res := analysis.Run(sc, analysis.Options{Mode: mode, Schedules: 2})
			for _, d := range res.Diags {
				if d.Rule == "" || d.Message == "" {
					t.Fatalf("finding without rule or message: %+v", d)
				}
			}
			_, _ = res.Graph.DOT("fuzz", false)
		}
	})
}
