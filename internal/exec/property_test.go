package exec_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fencecheck/fencecheck/internal/diag"
	"github.com/fencecheck/fencecheck/internal/exec"
	"github.com/fencecheck/fencecheck/internal/explore"
	"github.com/fencecheck/fencecheck/internal/graph"
	"github.com/fencecheck/fencecheck/internal/kernel"
	"github.com/fencecheck/fencecheck/internal/model"
	"github.com/fencecheck/fencecheck/internal/rules"
)

// libraryPrograms compiles every bundled scenario.
func libraryPrograms(t *testing.T) map[string]*kernel.Program {
	t.Helper()
	files, _ := filepath.Glob("../../scenarios/*/*.yaml")
	more, _ := filepath.Glob("../../scenarios/*/*/*.yaml")
	files = append(files, more...)
	if len(files) < 50 {
		t.Fatalf("library too small: %d", len(files))
	}
	out := map[string]*kernel.Program{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sc, ds := model.Load(f, data, model.Options{})
		if sc == nil || len(ds) > 0 {
			t.Fatalf("%s does not load: %v", f, ds)
		}
		if lockdepOnly(sc) {
			continue // written for lockdep's class view; not an execution model
		}
		out[f] = kernel.Compile(sc)
	}
	return out
}

// lockdepOnly: every expectation is for lockdep mode (self-test ports
// that fold two instances into one class, as lockdep does).
func lockdepOnly(sc *model.Scenario) bool {
	if len(sc.File.Expect) == 0 {
		return false
	}
	for _, e := range sc.File.Expect {
		if e.Mode.V != "lockdep" {
			return false
		}
	}
	return true
}

// randomDesign writes a small multi-thread design mixing what the executor
// must track by identity: per-object locks, resvs locked in one ww ticket
// and released out of order, trylocks with failure branches, nested
// subclasses, unpublished objects, fences waited and signalled.
func randomDesign(seed uint64) string {
	r := rand.New(rand.NewPCG(seed, 0xfe11ce))
	var b strings.Builder
	b.WriteString("fencecheck: 1\ndevices:\n  - name: gpu\nbuffers:\n")
	for i := 0; i < 3; i++ {
		fmt.Fprintf(&b, "  - {name: bo%d, device: gpu}\n", i)
	}
	b.WriteString("locks:\n  - {name: G, kind: mutex}\n  - {name: \"&obj->lock\", kind: mutex, per: buffer}\n  - {name: R, kind: rwsem}\n")
	b.WriteString("fences:\n  - {name: F0}\n  - {name: F1}\npaths:\n")
	threads := 2 + r.IntN(3)
	signalled := map[int]bool{}
	for p := 0; p < threads; p++ {
		fmt.Fprintf(&b, "  - name: p%d\n    context: ioctl\n", p)
		sig := -1
		if p < 2 && r.IntN(2) == 0 {
			sig = p
			signalled[p] = true
			fmt.Fprintf(&b, "    signals: F%d\n", p)
		}
		b.WriteString("    steps:\n      - sleep: start\n")
		var held []string // unlock lines, innermost last
		label := 0
		n := 3 + r.IntN(5)
		for i := 0; i < n; i++ {
			switch r.IntN(9) {
			case 0, 1:
				bo := r.IntN(3)
				line := fmt.Sprintf("{unlock: \"&obj->lock\", of: bo%d}", bo)
				if !slices.Contains(held, line) {
					fmt.Fprintf(&b, "      - {lock: \"&obj->lock\", of: bo%d}\n", bo)
					held = append(held, line)
				}
			case 2:
				if !slices.Contains(held, "{unlock: G}") {
					b.WriteString("      - lock: G\n")
					held = append(held, "{unlock: G}")
				}
			case 3:
				if !slices.Contains(held, "{unlock: R}") {
					b.WriteString("      - {lock: R, mode: read}\n")
					held = append(held, "{unlock: R}")
				}
			case 4:
				// drm_exec on two resvs, released out of order.
				x, y := r.IntN(3), r.IntN(3)
				if x == y || slices.ContainsFunc(held, func(s string) bool { return strings.Contains(s, "unlock: bo") }) {
					continue
				}
				fmt.Fprintf(&b, "      - ww_acquire_init: c%d\n      - {lock: bo%d, ctx: c%d}\n      - {lock: bo%d, ctx: c%d}\n      - unlock: bo%d\n      - unlock: bo%d\n      - ww_acquire_fini: c%d\n", i, x, i, y, i, x, y, i)
			case 5:
				bo := r.IntN(3)
				line := fmt.Sprintf("{unlock: bo%d}", bo)
				if slices.ContainsFunc(held, func(s string) bool { return strings.Contains(s, "unlock: bo") }) {
					continue
				}
				label++
				fmt.Fprintf(&b, "      - {trylock: bo%d, on_fail: skip%d_%d}\n      - {alloc: GFP_NOWAIT}\n      - %s\n      - {sleep: next, label: skip%d_%d}\n", bo, p, label, line, p, label)
			case 6:
				if f := r.IntN(2); f != sig && signalled[f] || r.IntN(3) == 0 {
					fmt.Fprintf(&b, "      - wait: F%d\n", f)
				}
			case 7:
				if len(held) > 0 {
					k := r.IntN(len(held)) // out of order
					fmt.Fprintf(&b, "      - %s\n", held[k])
					held = slices.Delete(held, k, k+1)
				}
			case 8:
				bo := r.IntN(3)
				fmt.Fprintf(&b, "      - {lock: bo%d, unpublished: true}\n      - unlock: bo%d\n", bo, bo)
			}
		}
		for i := len(held) - 1; i >= 0; i-- {
			fmt.Fprintf(&b, "      - %s\n", held[i])
		}
		if sig >= 0 {
			fmt.Fprintf(&b, "      - signal: F%d\n", sig)
		}
	}
	b.WriteString("workload:\n")
	for p := 0; p < threads; p++ {
		fmt.Fprintf(&b, "  - run: p%d\n", p)
	}
	return b.String()
}

func generated(t *testing.T, n int) map[string]*kernel.Program {
	out := map[string]*kernel.Program{}
	for seed := uint64(1); seed <= uint64(n); seed++ {
		src := randomDesign(seed)
		sc, ds := model.Load(fmt.Sprintf("gen%d.yaml", seed), []byte(src), model.Options{})
		if sc == nil || len(ds) > 0 {
			t.Fatalf("generated design %d does not load: %v\n%s", seed, ds, src)
		}
		out[sc.Path] = kernel.Compile(sc)
	}
	return out
}

// TestExecutorInvariants runs the library and generated designs under many
// schedules and checks the machine state after every step.
func TestExecutorInvariants(t *testing.T) {
	progs := libraryPrograms(t)
	for k, p := range generated(t, 150) {
		progs[k] = p
	}
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for k := range progs {
			if !yield(k) {
				return
			}
		}
	}) {
		res := exec.Run(progs[name], exec.Options{Schedules: 24, Seed: 5, Only: -1, Invariants: true})
		for _, v := range res.Violations {
			t.Errorf("%s: %s", name, v)
		}
	}
}

// TestGraphAgreesWithExecutor: every wait-for cycle the executor reports
// as a hang has a cycle through the same lock instances and fences in the
// precise dependency graph (possibly through its conservative edges), or,
// for one instance, a recursive-locking finding. Both read the same
// compiled program, so they must not disagree.
func TestGraphAgreesWithExecutor(t *testing.T) {
	progs := libraryPrograms(t)
	for k, p := range generated(t, 150) {
		progs[k] = p
	}
	hangs := 0
	for name, p := range progs {
		res := exec.Run(p, exec.Options{Schedules: 24, Seed: 9, Only: -1})
		// The explorer's hangs too (a small budget keeps the test quick).
		xr := explore.Run(p, explore.Options{Exhaustive: true, Budget: 60})
		g, ds := graph.Build(p, graph.Precise)
		reach := reachability(g)
		for _, h := range byRule(append(res.Findings, xr.Findings...), rules.Hang) {
			if len(h.Cycle) == 0 {
				continue // blocked on something never done: not a cycle claim
			}
			hangs++
			nodes := hangNodes(p, g, h)
			if len(nodes) == 0 {
				t.Errorf("%s: hang with no lock or fence: %s", name, h.Message)
				continue
			}
			if len(nodes) == 1 && recursive(ds, nodes[0]) {
				continue
			}
			for i, a := range nodes {
				b := nodes[(i+1)%len(nodes)]
				if !reach[a][b] {
					t.Errorf("%s: the executor hangs (%s) but the precise graph has no path %s -> %s", name, h.Message, a, b)
				}
			}
		}
	}
	if hangs < 10 {
		t.Fatalf("only %d hangs checked; the test would prove nothing", hangs)
	}
}

// hangNodes maps the locks and fences of a hang's wait-for cycle to the
// precise graph's nodes.
func hangNodes(p *kernel.Program, g *graph.Graph, h diag.Diagnostic) []string {
	var out []string
	for _, st := range h.Chain {
		if st.Kind == "work" && st.To != "" && g.Node(st.To) != nil {
			// A thread flushing a work waits on the work's map.
			if !slices.Contains(out, st.To) {
				out = append(out, st.To)
			}
			continue
		}
		var n string
		switch st.Kind {
		case "lock":
			if !strings.HasPrefix(st.Message, st.From+" is held") {
				continue // a thread blocking in a lock step; its lock is the next hop
			}
			n = st.From
			if g.Node(n) == nil {
				n = kernel.ClassOf(n)
			}
		case "fence":
			if st.Path != "" {
				continue // a thread waiting on a fence; the fence is the next hop
			}
			n = st.From
		default:
			continue
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

func recursive(ds []diag.Diagnostic, node string) bool {
	for _, d := range ds {
		if d.Rule == rules.RecursiveLocking && slices.Contains(d.Cycle, node) {
			return true
		}
	}
	return false
}

// reachability is the transitive closure of the graph's edges (the graphs
// of the library are small).
func reachability(g *graph.Graph) map[string]map[string]bool {
	adj := map[string][]string{}
	for _, e := range g.Edges() {
		adj[e.From] = append(adj[e.From], e.To)
	}
	out := map[string]map[string]bool{}
	for _, n := range g.Nodes() {
		seen := map[string]bool{}
		stack := slices.Clone(adj[n.Name])
		for len(stack) > 0 {
			x := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if seen[x] {
				continue
			}
			seen[x] = true
			stack = append(stack, adj[x]...)
		}
		out[n.Name] = seen
	}
	return out
}
