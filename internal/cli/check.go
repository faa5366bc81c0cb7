package cli

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	"github.com/fencecheck/fencecheck/internal/analysis"
	"github.com/fencecheck/fencecheck/internal/diag"
	"github.com/fencecheck/fencecheck/internal/graph"
	"github.com/fencecheck/fencecheck/internal/model"
	"github.com/fencecheck/fencecheck/internal/report"
)

type checkFlags struct {
	outputFlags
	mode          string
	failOn        string
	baseline      string
	writeBaseline string
	schedules     int
	seed          uint64
	explore       string
}

func parseMode(s string) (graph.Mode, error) {
	switch s {
	case "precise", "":
		return graph.Precise, nil
	case "lockdep":
		return graph.Lockdep, nil
	}
	return "", usageError{fmt.Errorf("unknown --mode %q (want precise or lockdep)", s)}
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

--mode precise (default) keeps fences, notifiers and shrinkers apart and
trusts code over priming annotations; --mode lockdep predicts what a lockdep
kernel would print.

Exit status: 0 nothing to report, 1 findings at or above --fail-on (or an
invalid scenario), 2 bad invocation, 3 fatal error.`,
		RunE: func(c *cobra.Command, args []string) error {
			if err := o.validate(report.Formats); err != nil {
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
			ins, err := collectInputs(e, args, o.maxBytes)
			if err != nil {
				return err
			}
			var accepted map[string]bool
			if o.baseline != "" {
				if accepted, err = readBaseline(o.baseline); err != nil {
					return fatalError{err}
				}
			}
			if o.explore != "" {
				if _, _, err := analysis.ParseExplore(o.explore); err != nil {
					return usageError{err}
				}
			}
			results, coverage := checkAll(ins, analysis.Options{Mode: mode, Schedules: o.schedules, Seed: o.seed, Explore: o.explore}, o.maxBytes)
			printCoverage(e, results, coverage)
			if o.writeBaseline != "" {
				if err := writeBaseline(o.writeBaseline, results); err != nil {
					return fatalError{err}
				}
			}
			if accepted != nil {
				for i := range results {
					kept := results[i].Diags[:0]
					for _, d := range results[i].Diags {
						if !accepted[report.Fingerprint(d)] {
							kept = append(kept, d)
						}
					}
					results[i].Diags = kept
				}
			}
			if err := o.emit(e, results); err != nil {
				return err
			}
			if failing(results, failOn) {
				return errFindings
			}
			return nil
		},
	}
	o.register(c)
	c.Flags().StringVar(&o.mode, "mode", "precise", "analysis mode: precise or lockdep")
	c.Flags().StringVar(&o.failOn, "fail-on", "warning", "lowest severity that fails the run: error, warning or never")
	c.Flags().StringVar(&o.baseline, "baseline", "", "ignore findings whose fingerprints are listed in `FILE`")
	c.Flags().StringVar(&o.writeBaseline, "write-baseline", "", "write the fingerprints of all current findings to `FILE`")
	c.Flags().IntVar(&o.schedules, "schedules", 0, "interleavings to execute: FIFO plus N-1 random (default 8, fewer for very large designs)")
	c.Flags().Uint64Var(&o.seed, "seed", 1, "seed of the random schedules")
	c.Flags().StringVar(&o.explore, "explore", "", "explore interleavings systematically: exhaustive, bounded=K (preemptions) or random=N")
	_ = c.RegisterFlagCompletionFunc("mode", cobra.FixedCompletions([]string{"precise", "lockdep"}, cobra.ShellCompDirectiveNoFileComp))
	_ = c.RegisterFlagCompletionFunc("fail-on", cobra.FixedCompletions([]string{"error", "warning", "never"}, cobra.ShellCompDirectiveNoFileComp))
	return c
}

// checkAll loads and analyses each input, on all cores: each file is
// independent, and results are stored by input index so the output order
// (and bytes) do not depend on scheduling. A file with lint errors is
// reported with those errors only: analysing a broken design would mislead.
func checkAll(ins []input, opt analysis.Options, maxBytes int) ([]report.FileResult, []string) {
	results := make([]report.FileResult, len(ins))
	coverage := make([]string, len(ins))
	workers := min(runtime.GOMAXPROCS(0), len(ins))
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				results[i], coverage[i] = checkOne(ins[i], opt, maxBytes)
			}
		}()
	}
	for i := range ins {
		next <- i
	}
	close(next)
	wg.Wait()
	return results, coverage
}

func checkOne(in input, opt analysis.Options, maxBytes int) (report.FileResult, string) {
	sc, ds := model.Load(in.path, in.data, model.Options{MaxBytes: maxBytes})
	r := report.FileResult{Path: in.path, Source: in.data, Diags: ds}
	if sc == nil || hasErrors(ds) {
		return r, ""
	}
	res := analysis.Run(sc, opt)
	r.Diags = append(r.Diags, res.Diags...)
	diag.Sort(r.Diags)
	return r, res.Coverage
}

// printable replaces control characters (a hostile file name must not
// drive the terminal).
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return '?'
		}
		return r
	}, s)
}

// printCoverage says on stderr what --explore covered for each file, so
// that "no finding" is never read as more than it is.
func printCoverage(e *env, results []report.FileResult, coverage []string) {
	for i, c := range coverage {
		if c != "" {
			fmt.Fprintf(e.stderr, "fencecheck: %s: %s\n", printable(results[i].Path), c)
		}
	}
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

// Baselines are text files with one fingerprint per line; # starts a
// comment. Fingerprints leave positions out, so unrelated edits keep them.
func readBaseline(path string) (map[string]bool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		if line != "" {
			out[strings.Fields(line)[0]] = true
		}
	}
	return out, sc.Err()
}

func writeBaseline(path string, results []report.FileResult) error {
	var lines []string
	for _, r := range results {
		for _, d := range r.Diags {
			lines = append(lines, fmt.Sprintf("%s  # %s %s: %s", report.Fingerprint(d), d.Rule, d.File, firstLine(d.Message)))
		}
	}
	sort.Strings(lines)
	var b strings.Builder
	b.WriteString("# fencecheck baseline: fingerprints of accepted findings (one per line)\n")
	for _, l := range lines {
		b.WriteString(l + "\n")
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
