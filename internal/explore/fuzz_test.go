package explore_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/fencecheck/fencecheck/internal/explore"
	"github.com/fencecheck/fencecheck/internal/kernel"
	"github.com/fencecheck/fencecheck/internal/model"
)

// FuzzExplore: whatever loads must explore without panicking or hanging,
// keep the executor's invariants, and replay every witness it reports.
func FuzzExplore(f *testing.F) {
	seeds, _ := filepath.Glob("../../scenarios/*/*.yaml")
	for _, p := range seeds {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		sc, ds := model.Load("fuzz.yaml", data, model.Options{MaxBytes: 1 << 14})
		if sc == nil || len(ds) > 0 {
			return
		}
		p := kernel.Compile(sc)
		for _, opt := range []explore.Options{{Exhaustive: true, Budget: 20, Invariants: true}, {Bound: 1, Budget: 20}} {
			r := explore.Run(p, opt)
			if len(r.Violations) > 0 {
				t.Fatalf("invariants: %v", r.Violations)
			}
			for _, d := range r.Findings {
				if d.Rule == "" || d.Message == "" {
					t.Fatalf("finding without rule or message: %+v", d)
				}
			}
			for _, id := range r.Witness {
				if _, err := explore.Replay(p, id); err != nil {
					t.Fatalf("witness %s does not replay: %v", id, err)
				}
			}
		}
	})
}
