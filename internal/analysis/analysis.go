// Package analysis runs the whole pipeline on a loaded scenario: compile
// onto the kernel model, execute, build the dependency graph, and collect
// findings. It is what `fencecheck check` and `fencecheck test` call.
package analysis

import (
	"github.com/fencecheck/fencecheck/internal/diag"
	"github.com/fencecheck/fencecheck/internal/graph"
	"github.com/fencecheck/fencecheck/internal/kernel"
	"github.com/fencecheck/fencecheck/internal/model"
)

// Options select the analysis.
type Options struct {
	Mode graph.Mode
}

// Result is the outcome for one scenario.
type Result struct {
	Program *kernel.Program
	Graph   *graph.Graph
	Diags   []diag.Diagnostic
}

// Run analyses a scenario that loaded without errors.
func Run(sc *model.Scenario, opt Options) *Result {
	if opt.Mode == "" {
		opt.Mode = graph.Precise
	}
	prog := kernel.Compile(sc)
	g, ds := graph.Build(prog, opt.Mode)
	ds = append(ds, g.Findings(sc.Path)...)
	diag.Sort(ds)
	return &Result{Program: prog, Graph: g, Diags: diag.Dedupe(ds)}
}
