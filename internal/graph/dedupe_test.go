package graph_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/fencecheck/fencecheck/internal/graph"
	"github.com/fencecheck/fencecheck/internal/model"
)

// TestEdgeDedupeAtEveryDegree: a dependency recorded again is one edge
// whose Also lists the other site, whether its source node has few edges
// (scanned in place) or many (the graph's map), and a shared or recursive
// variant is an edge of its own. Enough edges are added to span many
// allocation blocks; every edge keeps its own endpoints and position.
func TestEdgeDedupeAtEveryDegree(t *testing.T) {
	g := graph.New(graph.Precise)
	const hubs, targets = 3, 120 // well past the in-place scan's bound
	for h := 0; h < hubs; h++ {
		g.AddNode(fmt.Sprintf("hub%d", h), graph.KindLock)
	}
	for i := 0; i < targets; i++ {
		g.AddNode(fmt.Sprintf("t%03d", i), graph.KindLock)
	}
	pos := func(line int) model.Pos { return model.Pos{Line: line, Col: 1} }
	edge := func(h, i, line int, shared, rec bool) graph.Edge {
		return graph.Edge{From: fmt.Sprintf("hub%d", h), To: fmt.Sprintf("t%03d", i), Kind: graph.EdgeLock, Pos: pos(line), Shared: shared, Recursive: rec}
	}
	line := 0
	for h := 0; h < hubs; h++ {
		for i := 0; i < targets; i++ {
			line++
			if !g.AddEdge(edge(h, i, line, false, false)) {
				t.Fatalf("hub%d -> t%03d: first recording not new", h, i)
			}
			// Few edges yet: a duplicate found by the in-place scan.
			if i < 10 && g.AddEdge(edge(h, i, 10000+h*targets+i, false, false)) {
				t.Fatalf("hub%d -> t%03d recorded twice", h, i)
			}
		}
	}
	// The others again, from other lines, in another order: duplicates
	// found in the map.
	for i := targets - 1; i >= 10; i-- {
		for h := 0; h < hubs; h++ {
			if g.AddEdge(edge(h, i, 10000+h*targets+i, false, false)) {
				t.Fatalf("hub%d -> t%03d recorded twice", h, i)
			}
		}
	}
	// Shared and recursive variants of a few: new edges.
	for _, i := range []int{0, 7, 15, 16, 17, 119} {
		if !g.AddEdge(edge(0, i, 20000+i, true, false)) || !g.AddEdge(edge(0, i, 30000+i, false, true)) {
			t.Fatalf("hub0 -> t%03d: shared or recursive variant not recorded", i)
		}
	}
	edges := g.Edges()
	if want := hubs*targets + 2*6; len(edges) != want {
		t.Fatalf("%d edges, want %d", len(edges), want)
	}
	seen := map[*graph.Edge]bool{}
	for _, e := range edges {
		if seen[e] {
			t.Fatalf("edge %s -> %s listed twice", e.From, e.To)
		}
		seen[e] = true
		var h, i int
		if _, err := fmt.Sscanf(e.From+" "+e.To, "hub%d t%03d", &h, &i); err != nil {
			t.Fatalf("edge %s -> %s: unexpected endpoints", e.From, e.To)
		}
		switch {
		case e.Shared:
			if e.Pos != pos(20000+i) || len(e.Also) != 0 {
				t.Errorf("shared %s -> %s at %v also %v", e.From, e.To, e.Pos, e.Also)
			}
		case e.Recursive:
			if e.Pos != pos(30000+i) || len(e.Also) != 0 {
				t.Errorf("recursive %s -> %s at %v also %v", e.From, e.To, e.Pos, e.Also)
			}
		default:
			if first := h*targets + i + 1; e.Pos != pos(first) || !slices.Equal(e.Also, []model.Pos{pos(10000 + h*targets + i)}) {
				t.Errorf("%s -> %s at %v also %v, want at %v also [%v]", e.From, e.To, e.Pos, e.Also, pos(first), pos(10000+h*targets+i))
			}
		}
	}
}
