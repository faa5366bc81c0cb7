// Package analysis runs the whole pipeline on a loaded scenario: compile
// onto the kernel model, execute, build the dependency graph, and collect
// findings. It is what `fencecheck check` and `fencecheck test` call.
package analysis

import (
	"fmt"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/fencecheck/fencecheck/internal/diag"
	"github.com/fencecheck/fencecheck/internal/exec"
	"github.com/fencecheck/fencecheck/internal/explore"
	"github.com/fencecheck/fencecheck/internal/graph"
	"github.com/fencecheck/fencecheck/internal/group"
	"github.com/fencecheck/fencecheck/internal/kernel"
	"github.com/fencecheck/fencecheck/internal/model"
	"github.com/fencecheck/fencecheck/internal/rules"
)

// Options select the analysis.
type Options struct {
	Mode graph.Mode
	// Schedules and Seed select the executor's interleavings (exec.Options).
	Schedules int
	Seed      uint64
	// NoGroup keeps consequences (hangs, unsignalled fences explained by a
	// cycle) as findings of their own instead of Related entries.
	NoGroup bool
	// Explore selects how the executor's interleavings are explored:
	// "exhaustive", "bounded=K" or "random=N" (ParseExplore). With ""
	// and no Schedules, the default: exhaustive (systematic).
	Explore string
	// SoleInput: the caller loads and analyses nothing else while Run
	// runs, so Run may pace the collector for this input (releaseInput).
	SoleInput bool
}

// systematic explores p with the explorer. A design whose executions are
// too long for it (explore.DefaultMaxDepth steps) gets its FIFO
// interleaving only, and the coverage says so.
func systematic(p *kernel.Program, eo explore.Options) (*exec.Result, string, bool) {
	xr := explore.Run(p, eo)
	if xr.TooDeep == 0 {
		return &exec.Result{Findings: xr.Findings}, xr.Coverage(), xr.Complete
	}
	er := xr.FIFO
	if er == nil {
		er = exec.Run(p, exec.Options{Schedules: 1, Only: -1})
	}
	return er, fmt.Sprintf("not explored systematically: an execution has more than %d steps; ran the FIFO interleaving only (--explore random=N adds random ones)", xr.TooDeep), false
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
	ops := workloadOps(p)
	const budget = 8 * 5000 // workload ops x schedules explored by default
	if ops <= budget/DefaultSchedules {
		return DefaultSchedules
	}
	return max(2, budget/ops)
}

func workloadOps(p *kernel.Program) int {
	ops := 0
	for _, t := range p.Threads {
		if t.Workload {
			ops += len(t.Ops)
		}
	}
	return ops
}

// ExecBudget bounds schedules x workload steps for an explicit --schedules,
// so that no flag value can make one file run for hours.
const ExecBudget = 50_000_000

// ExecBudgetSchedules is the most schedules the execution budget allows.
func ExecBudgetSchedules(p *kernel.Program) int {
	return max(1, ExecBudget/max(1, workloadOps(p)))
}

// TraceBudget bounds the events fencecheck trace keeps in memory.
const TraceBudget = 5_000_000

// TraceBudgetSchedules is the most schedules a trace may keep.
func TraceBudgetSchedules(p *kernel.Program) int {
	ops := 0
	for _, t := range p.Threads {
		ops += len(t.Ops)
	}
	return max(1, TraceBudget/max(1, ops))
}

func maxSteps(sc *model.Scenario) int {
	if sc.MaxSteps > 0 {
		return sc.MaxSteps
	}
	return model.DefaultMaxSteps
}

// Result is the outcome for one scenario.
type Result struct {
	Program *kernel.Program
	Graph   *graph.Graph
	Diags   []diag.Diagnostic
	Exec    *exec.Result
	// Coverage says what execution covered; Complete, whether every
	// interleaving (within the bound, if any) was explored.
	Coverage string
	Complete bool
}

// collectAbove is the input size above which Run first collects what
// loading left behind (releaseInput).
const collectAbove = 1 << 20

// releaseInput: loading a large input leaves its YAML tree (several times
// the input's size) and the decoder's tables as garbage. Collecting them
// before the compiler and the graph allocate lets those reuse that memory;
// otherwise the collector, paced by the tree, lets the heap grow to twice
// the tree before it runs, whatever the analysis needs (lockdep 1x: 180
// MB peak RSS on one core instead of 115; 10x: about 1.5 GB instead of
// 1.1). Small inputs are not worth a collection each.
//
// With opt.SoleInput (nothing else is loaded or analysed meanwhile) and no
// GOGC of the user's, the collector is then paced so that the analysis may
// fill the heap the loader already occupied before the next collection:
// that memory is resident anyway, so peak RSS does not grow, while a
// collector paced by the small live heap would mark the growing program
// and graph twice over (lockdep 10x: two cycles, about 0.8 s of CPU). The
// returned function restores the setting; it is global, hence SoleInput.
func releaseInput(sc *model.Scenario, opt Options) (restore func()) {
	if len(sc.Source) <= collectAbove {
		return func() {}
	}
	if !opt.SoleInput || os.Getenv("GOGC") != "" {
		runtime.GC()
		return func() {}
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	inUse := ms.HeapInuse
	runtime.GC()
	runtime.ReadMemStats(&ms)
	percent := reusePercent(inUse, ms.HeapAlloc)
	if percent <= 100 {
		return func() {}
	}
	prev := debug.SetGCPercent(percent)
	if prev < 0 || prev >= percent { // off, or already as lax: only ever raise it
		debug.SetGCPercent(prev)
		return func() {}
	}
	return func() { debug.SetGCPercent(prev) }
}

// reusePercent is the GC percent whose goal, from a live heap of live
// bytes, is the inUse bytes the heap already spans (GOGC: goal = live x
// (1 + percent/100)); 0 when there is nothing to reuse.
func reusePercent(inUse, live uint64) int {
	if live == 0 || inUse <= live {
		return 0
	}
	return int(min((inUse-live)*100/live, math.MaxInt32))
}

// Run analyses a scenario that loaded without errors. Precise mode (the
// default) reports the dependency analysis and the executor's findings;
// lockdep mode reports only what a lockdep kernel prints (graph.LockdepReports)
// and does not execute; Both reports the two, each finding tagged with its
// mode.
func Run(sc *model.Scenario, opt Options) *Result {
	defer releaseInput(sc, opt)()
	return run(sc, opt)
}

func run(sc *model.Scenario, opt Options) *Result {
	if opt.Mode == "" {
		opt.Mode = graph.Precise
	}
	if opt.Mode == graph.Both {
		ld := opt
		ld.Mode = graph.Lockdep
		l := run(sc, ld)
		opt.Mode = graph.Precise
		r := run(sc, opt)
		ds := append(r.Diags, l.Diags...)
		diag.Sort(ds)
		r.Diags = diag.Dedupe(ds)
		return r
	}
	prog := kernel.Compile(sc)
	if prog.OverBudget {
		return &Result{Program: prog, Diags: []diag.Diagnostic{{File: sc.Path, Pos: model.Pos{Line: 1, Col: 1},
			Rule: rules.InputLimit, Severity: rules.SeverityOf(rules.InputLimit),
			Message: fmt.Sprintf("the design compiles to more than %d steps once every path is expanded for every job and callback that runs it; not analysed (the budget is 4x --max-steps)", 4*maxSteps(sc))}}}
	}
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
	explicitSchedules := opt.Schedules
	if opt.Schedules == 0 {
		opt.Schedules = AutoSchedules(prog)
	} else if limit := ExecBudgetSchedules(prog); opt.Schedules > limit {
		ds = append(ds, diag.Diagnostic{File: sc.Path, Pos: model.Pos{Line: 1, Col: 1}, Rule: rules.InputLimit, Severity: diag.Warning,
			Message: fmt.Sprintf("--schedules %d exceeds the execution budget for this design (%d steps per schedule); explored %d schedules", opt.Schedules, workloadOps(prog), limit)})
		opt.Schedules = limit
	}
	if opt.Seed == 0 {
		opt.Seed = 1
	}
	var er *exec.Result
	coverage, complete := "", false
	eo, n, err := ParseExplore(opt.Explore)
	switch {
	case opt.Explore == "" && explicitSchedules == 0:
		// The default: every interleaving, up to the order of independent
		// steps (explore.Run), so that the verdict does not depend on luck.
		er, coverage, complete = systematic(prog, explore.Options{Exhaustive: true})
	case opt.Explore != "" && err == nil && n == 0:
		er, coverage, complete = systematic(prog, eo)
	default:
		if n > 0 {
			opt.Schedules = n
		}
		er = exec.Run(prog, exec.Options{Schedules: opt.Schedules, Seed: opt.Seed, Only: -1})
		coverage = fmt.Sprintf("ran %d schedules (FIFO and random, seed %d): not exhaustive", opt.Schedules, opt.Seed)
	}
	for _, d := range append(exec.Static(prog), er.Findings...) {
		d.Mode = string(opt.Mode)
		ds = append(ds, d)
	}
	diag.Sort(ds)
	ds = diag.Dedupe(ds)
	if !opt.NoGroup {
		ds = group.Group(ds)
	}
	return &Result{Program: prog, Graph: g, Diags: ds, Exec: er, Coverage: coverage, Complete: complete}
}
