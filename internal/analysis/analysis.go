// Package analysis runs the whole pipeline on a loaded scenario: compile
// onto the kernel model, execute, build the dependency graph, and collect
// findings. It is what `fencecheck check` and `fencecheck test` call.
package analysis

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/fencecheck/fencecheck/internal/diag"
	"github.com/fencecheck/fencecheck/internal/exec"
	"github.com/fencecheck/fencecheck/internal/explore"
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
	// Explore selects the systematic explorer instead of the schedules:
	// "exhaustive", "bounded=K" or "random=N" (ParseExplore); "" keeps
	// FIFO plus random schedules.
	Explore string
}

// ParseExplore checks an --explore value.
func ParseExplore(s string) (explore.Options, int, error) {
	switch {
	case s == "exhaustive":
		return explore.Options{Exhaustive: true}, 0, nil
	case strings.HasPrefix(s, "bounded="):
		k, err := strconv.Atoi(strings.TrimPrefix(s, "bounded="))
		if err != nil || k < 0 || k > 64 {
			return explore.Options{}, 0, fmt.Errorf("bad --explore %q: bounded=K takes a preemption bound 0-64", s)
		}
		return explore.Options{Bound: k}, 0, nil
	case strings.HasPrefix(s, "random="):
		n, err := strconv.Atoi(strings.TrimPrefix(s, "random="))
		if err != nil || n < 1 || n > 1<<20 {
			return explore.Options{}, 0, fmt.Errorf("bad --explore %q: random=N takes a number of schedules", s)
		}
		return explore.Options{}, n, nil
	}
	return explore.Options{}, 0, fmt.Errorf("bad --explore %q: want exhaustive, bounded=K or random=N", s)
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
	// Coverage says what execution covered (with Options.Explore).
	Coverage string
}

// Run analyses a scenario that loaded without errors.
func Run(sc *model.Scenario, opt Options) *Result {
	if opt.Mode == "" {
		opt.Mode = graph.Precise
	}
	prog := kernel.Compile(sc)
	g, ds := graph.Build(prog, opt.Mode)
	ds = append(ds, g.Findings(sc.Path)...)
	if opt.Schedules == 0 {
		opt.Schedules = AutoSchedules(prog)
	}
	if opt.Seed == 0 {
		opt.Seed = 1
	}
	var er *exec.Result
	coverage := ""
	if eo, n, err := ParseExplore(opt.Explore); opt.Explore != "" && err == nil && n == 0 {
		xr := explore.Run(prog, eo)
		er = &exec.Result{Findings: xr.Findings}
		coverage = xr.Coverage()
	} else {
		if n > 0 {
			opt.Schedules = n
		}
		er = exec.Run(prog, exec.Options{Schedules: opt.Schedules, Seed: opt.Seed, Only: -1})
		if n > 0 {
			coverage = fmt.Sprintf("ran %d schedules (FIFO and random, seed %d): not exhaustive", n, opt.Seed)
		}
	}
	for _, d := range append(exec.Static(prog), er.Findings...) {
		d.Mode = string(opt.Mode)
		ds = append(ds, d)
	}
	diag.Sort(ds)
	return &Result{Program: prog, Graph: g, Diags: diag.Dedupe(ds), Exec: er, Coverage: coverage}
}
