package graph

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	gg "gonum.org/v1/gonum/graph"
	"gonum.org/v1/gonum/graph/encoding"
	"gonum.org/v1/gonum/graph/encoding/dot"
	"gonum.org/v1/gonum/graph/multi"

	"github.com/fencecheck/fencecheck/internal/safetext"
)

// dotNode and dotLine carry DOT names and attributes. Every string taken
// from the scenario is quoted here, not left to gonum's encoder: the encoder
// passes a string of the form <...> through unquoted as an HTML ID, so a
// lock named `<x> [URL="javascript:..." image="/etc/hostname"]; <y>` would
// inject attributes (and Graphviz would read the image file). A quoted DOT
// string has one escape, \", and the encoder keeps a string that is
// already validly quoted as it is.
type dotNode struct {
	id    int64
	name  string
	kind  NodeKind
	cycle bool
}

func (n dotNode) ID() int64     { return n.id }
func (n dotNode) DOTID() string { return dotQuote(n.name) }

// dotQuote returns s as a double-quoted DOT string with control characters
// shown visibly (safetext.Clean) and quotes and backslashes escaped. The
// line breaks fencecheck puts into labels itself stay line breaks (\n, a
// centred line in Graphviz).
func dotQuote(s string) string {
	parts := strings.Split(s, "\n")
	for i, p := range parts {
		parts[i] = safetext.Clean(p)
	}
	return strconv.Quote(strings.Join(parts, "\n"))
}
func (n dotNode) Attributes() []encoding.Attribute {
	shape, color := "box", "black"
	switch n.kind {
	case KindPseudo:
		shape, color = "ellipse", "gray40"
	case KindFence:
		shape, color = "diamond", "blue"
	case KindCallback:
		shape, color = "hexagon", "darkgreen"
	}
	if n.cycle {
		color = "red"
	}
	return []encoding.Attribute{{Key: "shape", Value: shape}, {Key: "color", Value: color}}
}

type dotLine struct {
	from, to dotNode
	id       int64
	e        *Edge
	cycle    bool
}

func (l dotLine) From() gg.Node { return l.from }
func (l dotLine) To() gg.Node   { return l.to }
func (l dotLine) ID() int64     { return l.id }
func (l dotLine) ReversedLine() gg.Line {
	return dotLine{from: l.to, to: l.from, id: l.id, e: l.e, cycle: l.cycle}
}
func (l dotLine) Attributes() []encoding.Attribute {
	label := string(l.e.Kind)
	if l.e.Pos.Valid() {
		label += fmt.Sprintf(" @%d:%d", l.e.Pos.Line, l.e.Pos.Col)
	} else {
		label += " (built in)"
	}
	if l.e.Path != "" {
		label += "\n" + l.e.Path
	} else if l.e.Builtin != "" {
		label += "\n" + builtinShort(l.e.Builtin)
	}
	attrs := []encoding.Attribute{{Key: "label", Value: dotQuote(label)}, {Key: "tooltip", Value: dotQuote(l.e.Text)}}
	switch {
	case l.cycle:
		attrs = append(attrs, encoding.Attribute{Key: "color", Value: "red"}, encoding.Attribute{Key: "penwidth", Value: "2"})
	case l.e.Kind == EdgePrimed || l.e.Kind == EdgeReclaim:
		attrs = append(attrs, encoding.Attribute{Key: "style", Value: "dashed"}, encoding.Attribute{Key: "color", Value: "gray50"})
	case l.e.Kind == EdgeObserved:
		attrs = append(attrs, encoding.Attribute{Key: "style", Value: "dotted"}, encoding.Attribute{Key: "color", Value: "gray50"})
	}
	return attrs
}

// cluster groups nodes of one kind in a Graphviz cluster.
type cluster struct {
	*multi.DirectedGraph
	name, label string
}

func (c cluster) DOTID() string { return "cluster_" + c.name }
func (c cluster) DOTAttributers() (graph, node, edge encoding.Attributer) {
	return attrs{{Key: "label", Value: dotQuote(c.label)}, {Key: "style", Value: "rounded"}}, attrs{}, attrs{}
}

type attrs []encoding.Attribute

func (a attrs) Attributes() []encoding.Attribute { return a }

type dotGraph struct {
	*multi.DirectedGraph
	clusters []dot.Multigraph
	title    string
}

func (g dotGraph) Structure() []dot.Multigraph { return g.clusters }
func (g dotGraph) DOTAttributers() (graph, node, edge encoding.Attributer) {
	return attrs{{Key: "rankdir", Value: "LR"}, {Key: "label", Value: dotQuote(g.title)}, {Key: "labelloc", Value: "t"}},
		attrs{{Key: "fontname", Value: "Helvetica"}}, attrs{{Key: "fontname", Value: "Helvetica"}, {Key: "fontsize", Value: "10"}}
}

// DOT renders the graph (or only what lies on witness cycles) for Graphviz:
// cycle edges in red, kernel-prelude edges dashed, nodes grouped by kind,
// every edge labelled with why it exists and where.
func (g *Graph) DOT(title string, onlyCycles bool) ([]byte, error) {
	cycles := g.Cycles()
	onCycle := map[string]bool{}
	cycleEdge := map[*Edge]bool{}
	for _, c := range cycles {
		for i, n := range c.Nodes {
			onCycle[n] = true
			cycleEdge[c.Edges[i]] = true
		}
	}
	dg := dotGraph{DirectedGraph: multi.NewDirectedGraph(), title: title}
	nodes := map[string]dotNode{}
	byKind := map[NodeKind][]dotNode{}
	for _, n := range g.Nodes() {
		if onlyCycles && !onCycle[n.Name] {
			continue
		}
		dn := dotNode{id: n.id, name: n.Name, kind: n.Kind, cycle: onCycle[n.Name]}
		nodes[n.Name] = dn
		dg.AddNode(dn)
		byKind[n.Kind] = append(byKind[n.Kind], dn)
	}
	for _, e := range g.Edges() {
		if onlyCycles && !cycleEdge[e] {
			continue
		}
		f, ok1 := nodes[e.From]
		t, ok2 := nodes[e.To]
		if !ok1 || !ok2 {
			continue
		}
		dg.SetLine(dotLine{from: f, to: t, id: e.id, e: e, cycle: cycleEdge[e]})
	}
	labels := map[NodeKind]string{KindLock: "lock classes", KindPseudo: "kernel pseudo-locks", KindFence: "fences", KindCallback: "reclaim callbacks"}
	kinds := make([]string, 0, len(byKind))
	for k := range byKind {
		kinds = append(kinds, string(k))
	}
	sort.Strings(kinds)
	for i, k := range kinds {
		sg := multi.NewDirectedGraph()
		for _, n := range byKind[NodeKind(k)] {
			sg.AddNode(n)
		}
		name := fmt.Sprintf("%d", i)
		dg.clusters = append(dg.clusters, cluster{DirectedGraph: sg, name: name, label: labels[NodeKind(k)]})
	}
	return dot.MarshalMulti(dg, "fencecheck", "", "  ")
}

// JSONEdge is an edge in the graph's JSON export.
type JSONEdge struct {
	From    string `json:"from"`
	To      string `json:"to"`
	Kind    string `json:"kind"`
	File    string `json:"file,omitempty"`
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
	Path    string `json:"path,omitempty"`
	Context string `json:"context,omitempty"`
	Text    string `json:"text"`
	Shared  bool   `json:"shared,omitempty"`
	OnCycle bool   `json:"on_cycle,omitempty"`
}

// JSONGraph is the graph's JSON export.
type JSONGraph struct {
	Mode   string              `json:"mode"`
	Nodes  []map[string]string `json:"nodes"`
	Edges  []JSONEdge          `json:"edges"`
	Cycles [][]string          `json:"cycles"`
}

// Export returns the JSON form (or only what lies on cycles).
func (g *Graph) Export(onlyCycles bool) JSONGraph {
	cycles := g.Cycles()
	onCycle := map[string]bool{}
	cycleEdge := map[*Edge]bool{}
	out := JSONGraph{Mode: string(g.Mode), Nodes: []map[string]string{}, Edges: []JSONEdge{}, Cycles: [][]string{}}
	for _, c := range cycles {
		out.Cycles = append(out.Cycles, c.Nodes)
		for i, n := range c.Nodes {
			onCycle[n] = true
			cycleEdge[c.Edges[i]] = true
		}
	}
	for _, n := range g.Nodes() {
		if onlyCycles && !onCycle[n.Name] {
			continue
		}
		out.Nodes = append(out.Nodes, map[string]string{"name": n.Name, "kind": string(n.Kind)})
	}
	for _, e := range g.Edges() {
		if onlyCycles && !cycleEdge[e] {
			continue
		}
		out.Edges = append(out.Edges, JSONEdge{From: e.From, To: e.To, Kind: string(e.Kind), File: e.File, Line: e.Pos.Line,
			Column: e.Pos.Col, Path: e.Path, Context: e.Context, Text: e.Text, Shared: e.Shared, OnCycle: cycleEdge[e]})
	}
	return out
}

// builtinShort is the function part of a fact ("dma_resv_lockdep()").
func builtinShort(f Fact) string {
	s := string(f)
	if i := strings.Index(s, " in "); i > 0 {
		return s[:i]
	}
	if i := strings.Index(s, ":"); i > 0 {
		return s[:i]
	}
	return s
}
