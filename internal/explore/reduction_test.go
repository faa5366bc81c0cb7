package explore_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/fencecheck/fencecheck/internal/diag"
	"github.com/fencecheck/fencecheck/internal/explore"
	"github.com/fencecheck/fencecheck/internal/kernel"
	"github.com/fencecheck/fencecheck/internal/model"
	"github.com/fencecheck/fencecheck/internal/rules"
)

// findingKeys identifies findings across explorations: the interleaving a
// message names may differ, the rule, fingerprint and position may not.
func findingKeys(ds []diag.Diagnostic) map[string]bool {
	out := map[string]bool{}
	for _, d := range ds {
		if d.Rule == rules.Hang && d.Fingerprint == "" {
			continue
		}
		out[d.Rule+"\x00"+d.Fingerprint+"\x00"+d.Pos.String()] = true
	}
	return out
}

// TestReductionsLoseNothing: on every library scenario where both
// explorations complete within a small budget, each reduction finds
// exactly what its reference finds:
//   - exhaustive DPOR with atomic critical sections (exec/atomic.go)
//     against the same with every section step by step;
//   - bounded DPOR with BPOR's conservative backtracking against the
//     plain bounded search of every interleaving within the bound;
//   - exhaustive DPOR with state caching (cache.go) against the same
//     without.
func TestReductionsLoseNothing(t *testing.T) {
	var files []string
	filepath.WalkDir("../../scenarios", func(path string, d os.DirEntry, err error) error {
		if err == nil && filepath.Ext(path) == ".yaml" {
			files = append(files, path)
		}
		return err
	})
	compared := [3]int{}
	for _, f := range files {
		data, _ := os.ReadFile(f)
		sc, ds := model.Load(f, data, model.Options{})
		if sc == nil || len(ds) > 0 {
			t.Fatal(f, ds)
		}
		p := kernel.Compile(sc)
		pairs := [3][2]explore.Options{
			{{Exhaustive: true, Budget: 400, NoCache: true}, {Exhaustive: true, Budget: 400, NoCache: true, Stepwise: true}},
			{{Bound: 1, Budget: 400}, {Bound: 1, Budget: 400, NoReduction: true, Stepwise: true}},
			{{Exhaustive: true, Budget: 400}, {Exhaustive: true, Budget: 400, NoCache: true}},
		}
		for i, pair := range pairs {
			red, ref := explore.Run(p, pair[0]), explore.Run(p, pair[1])
			if !red.Complete || !ref.Complete {
				continue
			}
			compared[i]++
			got, want := findingKeys(red.Findings), findingKeys(ref.Findings)
			for k := range want {
				if !got[k] {
					t.Errorf("%s: %+v misses a finding of %+v: %q", f, pair[0], pair[1], k)
				}
			}
			for k := range got {
				if !want[k] {
					t.Errorf("%s: %+v finds %q that %+v does not", f, pair[0], k, pair[1])
				}
			}
		}
	}
	if compared[0] < 380 || compared[1] < 380 || compared[2] < 380 {
		t.Fatalf("too few scenarios compared: %v", compared)
	}
	t.Logf("compared %v", compared)
}
