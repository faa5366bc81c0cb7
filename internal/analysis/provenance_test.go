package analysis_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fencecheck/fencecheck/internal/analysis"
	"github.com/fencecheck/fencecheck/internal/diag"
	"github.com/fencecheck/fencecheck/internal/gen"
	"github.com/fencecheck/fencecheck/internal/graph"
	"github.com/fencecheck/fencecheck/internal/group"
	"github.com/fencecheck/fencecheck/internal/model"
)

// TestProvenance: every finding of every bundled scenario and of generated
// designs, in both modes, with every consequence and every chain step,
// points at the YAML that caused it, or names the documented kernel fact
// (graph.Facts) behind a built-in step. No empty file, no 0:0 position
// without a fact, no step of a path without its path.
func TestProvenance(t *testing.T) {
	designs := map[string][]byte{}
	_ = filepath.WalkDir("../../scenarios", func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && filepath.Ext(p) == ".yaml" {
			if data, err := os.ReadFile(p); err == nil {
				designs[p] = data
			}
		}
		return nil
	})
	designs["gen-chain.yaml"] = []byte(gen.Chain(3, 2, false))
	designs["gen-random.yaml"] = []byte(gen.Random(16, 40, true, 3))
	designs["gen-driver.yaml"] = []byte(gen.Driver(2))
	facts := map[string]bool{}
	for _, f := range graph.Facts {
		facts[string(f)] = true
	}
	checked := 0
	for _, name := range sortedKeys(designs) {
		sc, ds := model.Load(name, designs[name], model.Options{})
		if sc == nil || len(ds) > 0 {
			continue // lint-only litmus tests
		}
		for _, mode := range []graph.Mode{graph.Precise, graph.Lockdep} {
			for _, d := range group.Flatten(analysis.Run(sc, analysis.Options{Mode: mode}).Diags) {
				checked++
				where := fmt.Sprintf("%s (%s) %s", name, mode, d.Rule)
				if d.File == "" || !d.Pos.Valid() {
					t.Errorf("%s: finding at %q %s", where, d.File, d.Pos)
				}
				for i, st := range d.Chain {
					at := fmt.Sprintf("%s step %d %q", where, i, st.Message)
					switch {
					case st.File == "":
						t.Errorf("%s: no file", at)
					case st.Builtin != "" && !facts[st.Builtin]:
						t.Errorf("%s: built-in %q is not a documented kernel fact", at, st.Builtin)
					case !st.Pos.Valid() && st.Builtin == "":
						t.Errorf("%s: no position and no kernel fact", at)
					case st.Builtin == "" && pathStep(st) && st.Path == "":
						t.Errorf("%s: a step of a path without its path", at)
					}
				}
			}
		}
	}
	if checked < 100 {
		t.Fatalf("only %d findings checked", checked)
	}
}

// pathStep: a step that a line of some path made (as opposed to a
// declaration: a job's deps, a fence, a lock class).
func pathStep(st diag.Step) bool {
	return slices.Contains([]string{"lock", "alloc", "wait", "section", "call", "flush"}, st.Kind) &&
		!strings.Contains(st.Message, " is held") && !strings.HasSuffix(st.Message, " is runnable")
}

func sortedKeys(m map[string][]byte) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
