// Package analysis runs the whole pipeline on a loaded scenario: compile
// onto the kernel model, execute, build the dependency graph, and collect
// findings. It is what `fencecheck check` and `fencecheck test` call.
package analysis

import (
	"github.com/fencecheck/fencecheck/internal/diag"
	"github.com/fencecheck/fencecheck/internal/exec"
	"github.com/fencecheck/fencecheck/internal/graph"
	"github.com/fencecheck/fencecheck/internal/kernel"
	"github.com/fencecheck/fencecheck/internal/model"
)

// Options select the analysis.
type Options struct {
	Mode graph.Mode
	// Schedules and Seed select the executor's interleavings (exec.Options).
	Schedules int
	Seed      uint64
}

// DefaultSchedules is how many interleavings check explores by default:
// FIFO plus seven random ones.
const DefaultSchedules = 8

// AutoSchedules keeps the default exploration for designs of ordinary size
// and shrinks it (never below FIFO plus one random schedule) for very large
// generated designs, where each schedule costs seconds; --schedules
// overrides it.
func AutoSchedules(p *kernel.Program) int {
	ops := 0
	for _, t := range p.Threads {
		if t.Workload {
			ops += len(t.Ops)
		}
	}
	const budget = 8 * 5000 // workload ops x schedules explored by default
	if ops <= budget/DefaultSchedules {
		return DefaultSchedules
	}
	return max(2, budget/ops)
}

// Result is the outcome for one scenario.
type Result struct {
	Program *kernel.Program
	Graph   *graph.Graph
	Diags   []diag.Diagnostic
	Exec    *exec.Result
}

// Run analyses a scenario that loaded without errors. Precise mode (the
// default) reports the dependency analysis and the executor's findings;
// lockdep mode reports only what a lockdep kernel prints (graph.LockdepReports)
// and does not execute; Both reports the two, each finding tagged with its
// mode.
func Run(sc *model.Scenario, opt Options) *Result {
	if opt.Mode == "" {
		opt.Mode = graph.Precise
	}
	if opt.Mode == graph.Both {
		ld := opt
		ld.Mode = graph.Lockdep
		l := Run(sc, ld)
		opt.Mode = graph.Precise
		r := Run(sc, opt)
		ds := append(r.Diags, l.Diags...)
		diag.Sort(ds)
		r.Diags = diag.Dedupe(ds)
		return r
	}
	prog := kernel.Compile(sc)
	g, ds := graph.Build(prog, opt.Mode)
	ds = append(ds, g.Findings(sc.Path)...)
	if opt.Mode == graph.Lockdep {
		var out []diag.Diagnostic
		for _, d := range ds {
			if graph.LockdepReports(d.Rule) {
				out = append(out, d)
			}
		}
		diag.Sort(out)
		return &Result{Program: prog, Graph: g, Diags: diag.Dedupe(out)}
	}
	if opt.Schedules == 0 {
		opt.Schedules = AutoSchedules(prog)
	}
	if opt.Seed == 0 {
		opt.Seed = 1
	}
	er := exec.Run(prog, exec.Options{Schedules: opt.Schedules, Seed: opt.Seed, Only: -1})
	for _, d := range append(exec.Static(prog), er.Findings...) {
		d.Mode = string(opt.Mode)
		ds = append(ds, d)
	}
	diag.Sort(ds)
	return &Result{Program: prog, Graph: g, Diags: diag.Dedupe(ds), Exec: er}
}
