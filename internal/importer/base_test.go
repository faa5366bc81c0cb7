package importer_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fencecheck/fencecheck/internal/analysis"
	"github.com/fencecheck/fencecheck/internal/graph"
	"github.com/fencecheck/fencecheck/internal/importer"
	"github.com/fencecheck/fencecheck/internal/lockdepproc"
	"github.com/fencecheck/fencecheck/internal/model"
	"github.com/fencecheck/fencecheck/internal/rules"
)

// lockdepScaleBase writes a generated /proc/lockdep at lockdep's caps as a
// base and returns its path and the parsed DB.
func lockdepScaleBase(t testing.TB) (string, *lockdepproc.DB) {
	t.Helper()
	ld, ch := lockdepproc.Generate(8192, 32768, 7)
	db, err := lockdepproc.Parse(ld)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.ParseChains(ch); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "kernel-ci.lockdep.yaml")
	if err := os.WriteFile(p, []byte(importer.WriteBase(db, "generated kernel")), 0o644); err != nil {
		t.Fatal(err)
	}
	return p, db
}

// reachesReclaim finds a driver class whose observed dependencies lead to
// fs_reclaim in at least hops steps (it is held around an allocation
// somewhere in the kernel), and a driver class that leads nowhere.
func reachesReclaim(db *lockdepproc.DB, hops int) (string, string) {
	n := len(db.Classes)
	dist := make([]int, n)
	for i := range dist {
		dist[i] = -1
	}
	before := make([][]int, n)
	for i := range db.Classes {
		for _, a := range db.Classes[i].After {
			before[a] = append(before[a], i)
		}
	}
	var queue []int
	for i := range db.Classes {
		if db.Classes[i].Name == "fs_reclaim" {
			dist[i] = 0
			queue = append(queue, i)
		}
	}
	for len(queue) > 0 {
		c := queue[0]
		queue = queue[1:]
		for _, b := range before[c] {
			if dist[b] < 0 {
				dist[b] = dist[c] + 1
				queue = append(queue, b)
			}
		}
	}
	hot, leaf := "", ""
	for i := range db.Classes {
		name := db.Classes[i].Name
		if !strings.HasPrefix(name, "&gpu") || strings.Contains(name, "#") {
			continue
		}
		if hot == "" && dist[i] >= hops {
			hot = name
		}
		if leaf == "" && dist[i] < 0 && len(db.Classes[i].After) == 0 {
			leaf = name
		}
	}
	return hot, leaf
}

func design(base, lock string) string {
	return `fencecheck: 1
name: a notifier checked against a running kernel
base: ` + filepath.Base(base) + `
paths:
  - name: my_invalidate
    context: notifier
    steps:
      - lock: "` + lock + `"
      - unlock: "` + lock + `"
`
}

func TestBaseCycleThroughObservedEdges(t *testing.T) {
	base, db := lockdepScaleBase(t)
	if sc, ds := model.Load(base, mustRead(t, base), model.Options{}); sc == nil || len(ds) > 0 {
		t.Fatalf("base does not lint clean: %v", ds)
	}
	hot, leaf := reachesReclaim(db, 2)
	if hot == "" || leaf == "" {
		t.Fatalf("fixture has no class reaching fs_reclaim in 2+ hops (%q) or no leaf (%q)", hot, leaf)
	}
	dir := filepath.Dir(base)
	for _, mode := range []graph.Mode{graph.Lockdep, graph.Precise} {
		p := filepath.Join(dir, "design.yaml")
		sc, ds := model.Load(p, []byte(design(base, hot)), model.Options{})
		if sc == nil || len(ds) > 0 {
			t.Fatalf("design: %v", ds)
		}
		res := analysis.Run(sc, analysis.Options{Mode: mode})
		var cyc *struct{ observed, design int }
		for _, d := range res.Diags {
			if d.Rule != rules.Cycle {
				continue
			}
			c := struct{ observed, design int }{}
			for _, st := range d.Chain {
				switch {
				case st.Kind == string(graph.EdgeObserved) && st.File == base && st.Pos.Valid() && strings.Contains(st.Message, "observed by lockdep"):
					c.observed++
				case st.File == p:
					c.design++
				}
			}
			if c.observed >= 2 && c.design >= 1 {
				cyc = &c
			}
		}
		if cyc == nil {
			t.Errorf("%s: no cycle closing through observed edges: %v", mode, res.Diags)
		}
		fixed := filepath.Join(dir, "fixed.yaml")
		sc, ds = model.Load(fixed, []byte(design(base, leaf)), model.Options{})
		if sc == nil || len(ds) > 0 {
			t.Fatalf("fixed design: %v", ds)
		}
		if res := analysis.Run(sc, analysis.Options{Mode: mode}); len(res.Diags) != 0 {
			t.Errorf("%s: fixed design (notifier takes leaf %s) is not clean: %v", mode, leaf, res.Diags)
		}
	}
}

func TestBaseIncludeErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	a := write("a.yaml", "fencecheck: 1\nbase: b.yaml\n")
	write("b.yaml", "fencecheck: 1\nbase: a.yaml\n")
	missing := write("m.yaml", "fencecheck: 1\nbase: nope.yaml\n")
	broken := write("c.yaml", "fencecheck: 1\nbase: d.yaml\n")
	write("d.yaml", "fencecheck: 1\nobserved:\n  - {from: undeclared, to: fs_reclaim}\n")
	for _, c := range []struct{ path, want string }{
		{a, "include cycle"}, {missing, "cannot read"}, {broken, "not a valid scenario"},
	} {
		_, ds := model.Load(c.path, mustRead(t, c.path), model.Options{Bases: &model.BaseCache{}})
		found := false
		for _, d := range ds {
			if strings.Contains(d.Message, c.want) {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: want %q, got %v", filepath.Base(c.path), c.want, ds)
		}
	}
}

func mustRead(t testing.TB, p string) []byte {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// A base of a driver's common locks (no observed dependencies): its
// classes and kinds reach the including scenario.
func TestBaseOfCommonLocks(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "common.yaml"), []byte("fencecheck: 1\nlocks:\n  - {name: \"&drv->irq_lock\", kind: spinlock}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "design.yaml")
	src := `fencecheck: 1
base: common.yaml
locks:
  - {name: "&drv->lock", kind: mutex}
paths:
  - name: irq_handler
    context: irq
    steps:
      - lock: "&drv->irq_lock"
      - unlock: "&drv->irq_lock"
  - name: submit
    context: ioctl
    steps:
      - lock: "&drv->irq_lock"
      - unlock: "&drv->irq_lock"
`
	sc, ds := model.Load(p, []byte(src), model.Options{})
	if sc == nil || len(ds) > 0 {
		t.Fatalf("design: %v", ds)
	}
	res := analysis.Run(sc, analysis.Options{Mode: graph.Lockdep})
	found := false
	for _, d := range res.Diags {
		if d.Rule == rules.IRQUnsafeLock && strings.Contains(d.Message, "&drv->irq_lock") {
			found = true
		}
	}
	if !found {
		t.Errorf("the base's spinlock kind did not reach the design: %v", res.Diags)
	}
}
