package graph_test

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fencecheck/fencecheck/internal/diag"
	"github.com/fencecheck/fencecheck/internal/graph"
	"github.com/fencecheck/fencecheck/internal/kernel"
	"github.com/fencecheck/fencecheck/internal/model"
)

// libraryScenarios loads every scenario of the library that loads cleanly.
func libraryScenarios(t *testing.T) map[string]*model.Scenario {
	t.Helper()
	out := map[string]*model.Scenario{}
	err := filepath.WalkDir("../../scenarios", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".yaml") {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if sc, ds := model.Load(path, data, model.Options{}); sc != nil && len(ds) == 0 {
			out[path] = sc
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) < 100 {
		t.Fatalf("only %d library scenarios load", len(out))
	}
	return out
}

// graphText is everything Build decides, in a comparable form.
func graphText(g *graph.Graph, ds []diag.Diagnostic) string {
	var sb strings.Builder
	for _, n := range g.Nodes() {
		fmt.Fprintf(&sb, "node %s %v\n", n.Name, n.Kind)
	}
	for _, e := range g.Edges() {
		fmt.Fprintf(&sb, "edge %s -> %s %s %v %s %s shared=%v rec=%v read=%v also=%v\n",
			e.From, e.To, e.Kind, e.Pos, e.Path, e.Text, e.Shared, e.Recursive, e.ToRead(), e.Also)
	}
	for _, d := range append(ds, g.Findings("f")...) {
		fmt.Fprintf(&sb, "diag %s %v %s %v\n", d.Rule, d.Pos, d.Message, d.Cycle)
	}
	return sb.String()
}

// scramble gives the interned ops IDs in turn, whatever their locks, as
// ops copied and retargeted without updating their IDs would have: one ID
// then stands for several locks.
func scramble(ops []kernel.Op, n int, k *int) {
	for i := range ops {
		if ops[i].LockID > 0 && n > 2 {
			*k++
			ops[i].LockID = int32(*k%(n-1) + 1)
		}
		scramble(ops[i].Ext().Then, n, k)
	}
}

// The graph resolves an op's lock by its interned ID only when the ID
// names that lock: a program whose IDs are wrong (or absent) builds the
// same graph and findings as the compiled one.
func TestLockIDsOnlyShortcutNames(t *testing.T) {
	interned := 0
	for path, sc := range libraryScenarios(t) {
		for _, mode := range []graph.Mode{graph.Precise, graph.Lockdep} {
			want := graphText(graph.Build(kernel.Compile(sc), mode))
			p := kernel.Compile(sc)
			k := 0
			for _, th := range p.Threads {
				for i := range th.Ops {
					if th.Ops[i].LockID > 0 {
						interned++
					}
				}
				scramble(th.Ops, len(p.LockNames), &k)
			}
			scramble(p.Reclaim, len(p.LockNames), &k)
			if got := graphText(graph.Build(p, mode)); got != want {
				t.Errorf("%s (%s): graph differs with scrambled lock IDs", path, mode)
			}
		}
	}
	if interned == 0 {
		t.Fatal("no op of the library has an interned lock ID")
	}
}
