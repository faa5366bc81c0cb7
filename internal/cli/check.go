package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fencecheck/fencecheck/internal/analysis"
	"github.com/fencecheck/fencecheck/internal/diag"
	"github.com/fencecheck/fencecheck/internal/graph"
	"github.com/fencecheck/fencecheck/internal/model"
	"github.com/fencecheck/fencecheck/internal/report"
	"github.com/fencecheck/fencecheck/internal/rules"
	"github.com/fencecheck/fencecheck/internal/safetext"
)

type checkFlags struct {
	outputFlags
	scan          scanFlags
	mode          string
	failOn        string
	baseline      string
	writeBaseline string
	schedules     int
	seed          uint64
	noGroup       bool
	explore       string
}

// scanFlags shape directory scans and name files for baselines.
type scanFlags struct {
	excludes []string
	root     string
}

func (s *scanFlags) register(c *cobra.Command) {
	c.Flags().StringArrayVar(&s.excludes, "exclude", nil, "skip files and directories matching `GLOB` in directory scans (repeatable; matched against the path below the directory and the base name)")
	c.Flags().StringVar(&s.root, "root", ".", "project root: fingerprints name files relative to `DIR`, and file arguments may not be symlinks leading outside it")
}

// loadOptions: the loader's limits, and --root for base: includes.
func (s *scanFlags) loadOptions(in inputFlags) model.Options {
	lo := in.loadOptions()
	lo.Root = s.root
	return lo
}

func (s *scanFlags) options(in inputFlags) scanOptions {
	return scanOptions{maxBytes: in.maxBytes, excludes: s.excludes, root: s.root}
}

// MaxSchedules bounds --schedules (and trace's): each schedule is a full
// execution of the design.
const MaxSchedules = 10_000

func parseMode(s string) (graph.Mode, error) {
	switch s {
	case "precise", "":
		return graph.Precise, nil
	case "lockdep":
		return graph.Lockdep, nil
	case "both":
		return graph.Both, nil
	}
	return "", usageError{fmt.Errorf("unknown --mode %q (want precise, lockdep or both)", s)}
}

func newCheck(e *env) *cobra.Command {
	var o checkFlags
	c := &cobra.Command{
		Use:   "check [flags] FILE|DIR|-...",
		Short: "Analyse scenarios for deadlocks and rule violations (the CI gate)",
		Long: `check loads each scenario, compiles it onto the kernel model, builds the
lockdep-style dependency graph (plus the fence dependencies lockdep cannot
see), and reports cycles and rule violations, each traced to the YAML step
that caused it.

--mode precise (default) keeps fences, notifiers and shrinkers apart,
trusts code over priming annotations and adds the executor's findings (hangs,
unsignalled fences, invariants); --mode lockdep prints only what a lockdep
kernel of the scenario's kernel.version would print; --mode both reports
the findings of the two modes, each tagged with its mode.

The executor runs every interleaving of the design up to the order of
independent steps (dynamic partial-order reduction), within a budget of
20,000 interleavings and 1.5 million scheduling points; each finding shows
the interleaving with the fewest preemptions found to exhibit it (replay
it with fencecheck trace --schedule ID). A design whose FIFO execution is
longer than 20,000 steps gets that execution only. stderr says what was
covered: "explored all N interleavings (complete)", or where the budget
stopped it. The verdict does not depend on --seed. --explore bounded=K
limits preemptions instead; --explore random=N samples FIFO plus N-1
random interleavings (for designs too large to explore).

Directory scans skip hidden directories, --exclude matches, symlinks that
lead outside the directory and special files (each skipped entry is
reported), and YAML files that are not scenarios. Every input is untrusted:
see docs/security.md for the limits (--max-bytes, --max-steps, --schedules).

Exit status: 0 nothing to report, 1 findings at or above --fail-on (or an
invalid scenario), 2 bad invocation, 3 an input could not be read, an output
could not be written, or fencecheck failed on a file (every other file is
still reported).`,
		RunE: func(c *cobra.Command, args []string) error {
			if err := o.validate(); err != nil {
				return err
			}
			mode, err := parseMode(o.mode)
			if err != nil {
				return err
			}
			failOn, err := parseFailOn(o.failOn)
			if err != nil {
				return err
			}
			if o.schedules < 0 || o.schedules > MaxSchedules {
				return usageError{fmt.Errorf("--schedules %d: want 1 to %d (0: the default)", o.schedules, MaxSchedules)}
			}
			// Outputs are checked before the analysis, so that a bad path
			// fails in a second, not after the work.
			if sameFile(o.output, o.writeBaseline) {
				return usageError{fmt.Errorf("-o and --write-baseline name the same file %s", o.output)}
			}
			for _, p := range []string{o.output, o.writeBaseline} {
				if err := checkOutputPath(p); err != nil {
					return fatalError{err}
				}
			}
			var base *baseline
			if o.baseline != "" {
				if base, err = readBaseline(o.baseline); err != nil {
					return fatalError{err}
				}
			}
			ins, err := collectInputs(e, args, o.scan.options(o.inputFlags))
			if err != nil {
				return err
			}
			if o.explore != "" {
				if _, _, err := analysis.ParseExplore(o.explore); err != nil {
					return usageError{err}
				}
			}
			results, coverage := checkAll(ins, analysis.Options{Mode: mode, Schedules: o.schedules, Seed: o.seed, NoGroup: o.noGroup, Explore: o.explore}, o.scan.loadOptions(o.inputFlags))
			printCoverage(e, results, coverage)
			stampFingerprints(results, o.scan.root)
			// Each output is written even if another fails.
			var errs []error
			if o.writeBaseline != "" {
				if err := writeFileSafe(o.writeBaseline, baselineText(results)); err != nil {
					errs = append(errs, fmt.Errorf("--write-baseline: %w", err))
				}
			}
			var ropt report.Options
			if base != nil {
				stats := base.apply(results)
				ropt.Baseline = &stats
			}
			if err := o.emit(e, results, ropt); err != nil {
				errs = append(errs, err)
			}
			if len(errs) > 0 {
				for _, err := range errs[:len(errs)-1] {
					fmt.Fprintf(e.stderr, "fencecheck: %v\n", unwrapFatal(err))
				}
				return fatalError{unwrapFatal(errs[len(errs)-1])}
			}
			if incomplete(results) {
				return errFatalFindings
			}
			if failing(results, failOn) {
				return errFindings
			}
			return nil
		},
	}
	o.register(c, report.Formats, true)
	o.scan.register(c)
	c.Flags().StringVar(&o.mode, "mode", "precise", "analysis mode: precise, lockdep or both")
	c.Flags().StringVar(&o.failOn, "fail-on", "warning", "lowest severity that fails the run: error, warning or never")
	c.Flags().StringVar(&o.baseline, "baseline", "", "ignore findings whose fingerprints are listed in `FILE`")
	c.Flags().StringVar(&o.writeBaseline, "write-baseline", "", "write the fingerprints of all current findings to `FILE`")
	c.Flags().IntVar(&o.schedules, "schedules", 0, fmt.Sprintf("run FIFO plus N-1 random interleavings instead of the systematic exploration (same as --explore random=N; at most %d)", MaxSchedules))
	c.Flags().Uint64Var(&o.seed, "seed", 1, "seed of the random schedules (--explore random=N, --schedules); the default exploration does not use it")
	c.Flags().BoolVar(&o.noGroup, "no-group", false, "report consequences (hangs, unsignalled fences a cycle explains) as findings of their own")
	c.Flags().StringVar(&o.explore, "explore", "", "how to explore the interleavings: exhaustive (the default: every interleaving up to the order of independent steps, within a budget), bounded=K (every interleaving with at most K preemptions) or random=N (FIFO plus N-1 random)")
	_ = c.RegisterFlagCompletionFunc("mode", cobra.FixedCompletions([]string{"precise", "lockdep", "both"}, cobra.ShellCompDirectiveNoFileComp))
	_ = c.RegisterFlagCompletionFunc("fail-on", cobra.FixedCompletions([]string{"error", "warning", "never"}, cobra.ShellCompDirectiveNoFileComp))
	return c
}

func unwrapFatal(err error) error {
	var fe fatalError
	if errors.As(err, &fe) {
		return fe.error
	}
	return err
}

// checked is one input's report and what --explore covered for it.
type checked struct {
	r        report.FileResult
	coverage string
}

// checkAll loads and analyses each input (eachInput: all cores, input
// order, one file in memory per worker, panics contained). A file with
// lint errors is reported with those errors only: analysing a broken design
// would mislead.
func checkAll(ins []input, opt analysis.Options, lo model.Options) ([]report.FileResult, []string) {
	// One input: nothing runs beside its analysis, which may then pace
	// the collector for it (analysis.Options.SoleInput).
	opt.SoleInput = len(ins) == 1
	out := eachInput(ins, func(in input) checked {
		return checkOne(in, opt, lo)
	}, func(in input, msg string) checked {
		return checked{r: report.FileResult{Path: in.path, Diags: []diag.Diagnostic{internalError(in.path, msg)}}}
	})
	results := make([]report.FileResult, len(out))
	coverage := make([]string, len(out))
	for i, c := range out {
		results[i], coverage[i] = c.r, c.coverage
	}
	return results, coverage
}

func checkOne(in input, opt analysis.Options, lo model.Options) checked {
	r, sc := loadInput(in, lo)
	if sc == nil || hasErrors(r.Diags) {
		r.Compact()
		return checked{r: r}
	}
	res := analysis.Run(sc, opt)
	r.Diags = append(r.Diags, res.Diags...)
	r.Coverage, r.Complete = res.Coverage, res.Complete
	diag.Sort(r.Diags)
	r.Compact()
	return checked{r: r, coverage: res.Coverage}
}

// printCoverage says on stderr what execution covered, so that "no
// finding" is never read as more than it is: for one input always; for
// several, each input whose exploration is not complete, then a count.
func printCoverage(e *env, results []report.FileResult, coverage []string) {
	complete, other := 0, 0
	for i, c := range coverage {
		switch {
		case c == "":
		case len(coverage) > 1 && results[i].Complete:
			complete++
		default:
			other++
			fmt.Fprintf(e.stderr, "fencecheck: %s: %s\n", safetext.Path(results[i].Path), safetext.Clean(c))
		}
	}
	if len(coverage) > 1 && complete+other > 0 {
		fmt.Fprintf(e.stderr, "fencecheck: interleavings: %d of %d files explored completely\n", complete, complete+other)
	}
}

// incomplete: some input could not be read or analysed (exit 3).
func incomplete(results []report.FileResult) bool {
	for _, r := range results {
		for _, d := range r.Diags {
			if d.Rule == rules.Unreadable || d.Rule == rules.InternalError {
				return true
			}
		}
	}
	return false
}

func hasErrors(ds []diag.Diagnostic) bool {
	for _, d := range ds {
		if d.Severity == diag.Error {
			return true
		}
	}
	return false
}

type failLevel int

const (
	failError failLevel = iota
	failWarning
	failNever
)

func parseFailOn(s string) (failLevel, error) {
	switch s {
	case "error":
		return failError, nil
	case "warning":
		return failWarning, nil
	case "never":
		return failNever, nil
	}
	return 0, usageError{fmt.Errorf("unknown --fail-on %q (want error, warning or never)", s)}
}

func failing(results []report.FileResult, lvl failLevel) bool {
	if lvl == failNever {
		return false
	}
	errs, warns := report.Count(results)
	return errs > 0 || (lvl == failWarning && warns > 0)
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
