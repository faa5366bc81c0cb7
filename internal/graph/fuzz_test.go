package graph

import (
	"strings"
	"testing"

	"gonum.org/v1/gonum/graph/formats/dot"
	"gonum.org/v1/gonum/graph/formats/dot/ast"

	"github.com/fencecheck/fencecheck/internal/kernel"
	"github.com/fencecheck/fencecheck/internal/model"
)

const fuzzABBA = `fencecheck: 1
locks:
  - {name: A, kind: mutex}
  - {name: B, kind: mutex}
paths:
  - {name: p1, context: ioctl, steps: [{lock: A}, {lock: B}, {unlock: B}, {unlock: A}]}
  - {name: p2, context: ioctl, steps: [{lock: B}, {lock: A}, {unlock: A}, {unlock: B}]}
`

// FuzzDOTNames: whatever the lock names (the loader refuses control
// characters, but the DOT writer must not rely on it), the DOT output
// parses, holds exactly the nodes of the graph and no attribute fencecheck
// did not write: a name can never become markup.
func FuzzDOTNames(f *testing.F) {
	f.Add("A", "B", "p")
	f.Add(`<x> [URL="javascript:alert(1)" image="/etc/hostname"]; pwn [shape=star]; <y>`, `"a" -> "b"`, "p\n::error::x")
	f.Add("node", "edge", `\"`)
	f.Add("a\\", "}", "\x1b]0;t\a")
	f.Fuzz(func(t *testing.T, a, b, path string) {
		if a == b || a == "" || b == "" {
			return
		}
		// Compile a real design, then rename its locks and path to the
		// fuzzed strings: the loader would refuse some of them, and the
		// writer must be safe without that.
		sc, ds := model.Load("f.yaml", []byte(fuzzABBA), model.Options{})
		if sc == nil || len(ds) > 0 {
			t.Fatalf("seed design: %v", ds)
		}
		p := kernel.Compile(sc)
		rename := map[string]string{"A": a, "B": b}
		for _, th := range p.Threads {
			for i := range th.Ops {
				if n, ok := rename[th.Ops[i].Lock]; ok {
					th.Ops[i].Lock = n
					th.Ops[i].Text = "lock: " + n
				}
				th.Ops[i].SetPlace(kernel.NewPlace(path, th.Ops[i].Context()))
			}
		}
		g, _ := Build(p, Precise)
		out, err := g.DOT(path, false)
		if err != nil {
			t.Fatalf("DOT: %v", err)
		}
		file, err := dot.ParseBytes(out)
		if err != nil {
			t.Fatalf("DOT does not parse: %v\n%s", err, out)
		}
		allowed := map[string]bool{"shape": true, "color": true, "label": true, "tooltip": true, "style": true,
			"penwidth": true, "rankdir": true, "labelloc": true, "fontname": true, "fontsize": true}
		var walk func(stmts []ast.Stmt)
		walk = func(stmts []ast.Stmt) {
			for _, s := range stmts {
				switch s := s.(type) {
				case *ast.NodeStmt:
					if !strings.HasPrefix(s.Node.ID, `"`) {
						t.Fatalf("unquoted node ID %q\n%s", s.Node.ID, out)
					}
					for _, at := range s.Attrs {
						if !allowed[at.Key] {
							t.Fatalf("injected attribute %s=%s\n%s", at.Key, at.Val, out)
						}
					}
				case *ast.EdgeStmt:
					for _, at := range s.Attrs {
						if !allowed[at.Key] {
							t.Fatalf("injected attribute %s=%s\n%s", at.Key, at.Val, out)
						}
					}
				case *ast.Subgraph:
					walk(s.Stmts)
				case *ast.AttrStmt:
					for _, at := range s.Attrs {
						if !allowed[at.Key] {
							t.Fatalf("injected attribute %s=%s\n%s", at.Key, at.Val, out)
						}
					}
				case *ast.Attr:
					if !allowed[s.Key] {
						t.Fatalf("injected attribute %s=%s\n%s", s.Key, s.Val, out)
					}
				}
			}
		}
		for _, gr := range file.Graphs {
			walk(gr.Stmts)
		}
		for _, c := range out {
			if c < 0x20 && c != '\n' && c != '\t' {
				t.Fatalf("control byte %q in DOT", c)
			}
		}
	})
}
