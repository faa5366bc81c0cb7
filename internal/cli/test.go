package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fencecheck/fencecheck/internal/analysis"
	"github.com/fencecheck/fencecheck/internal/diag"
	"github.com/fencecheck/fencecheck/internal/model"
	"github.com/fencecheck/fencecheck/internal/rules"
)

func newTest(e *env) *cobra.Command {
	var o outputFlags
	c := &cobra.Command{
		Use:   "test [flags] FILE|DIR|-...",
		Short: "Run scenarios and compare their findings with their expect: sections",
		Long: `test analyses each scenario in every mode its expect: section names and
compares the findings with the expectations (rule, cycle, contained nodes,
message, clean). It prints one PASS/FAIL line per file and a summary.
Files without expectations are listed as NOEXPECT and do not fail the run.

Exit status: 0 all expectations met, 1 a mismatch or an invalid file,
2 bad invocation, 3 fatal error.`,
		RunE: func(c *cobra.Command, args []string) error {
			if err := o.validate([]string{"text", "json"}); err != nil {
				return err
			}
			ins, err := collectInputs(e, args, o.maxBytes)
			if err != nil {
				return err
			}
			var verdicts []analysis.Verdict
			for _, in := range ins {
				sc, ds := model.Load(in.path, in.data, model.Options{MaxBytes: o.maxBytes})
				if sc != nil && len(sc.File.Expect) > 0 && onlyStepErrors(ds) {
					verdicts = append(verdicts, analysis.VerifyWithLint(sc, ds))
					continue
				}
				if sc == nil || hasErrors(ds) {
					verdicts = append(verdicts, analysis.Verdict{File: in.path, Status: "fail", Problems: ds,
						Summary: []string{"invalid scenario"}})
					continue
				}
				verdicts = append(verdicts, analysis.Verify(sc))
			}
			w, closeFn, err := o.writer(e)
			if err != nil {
				return err
			}
			pass, fail, none := 0, 0, 0
			for _, v := range verdicts {
				switch v.Status {
				case "pass":
					pass++
				case "fail":
					fail++
				default:
					none++
				}
			}
			if o.format == "json" {
				out := struct {
					Results []analysis.Verdict `json:"results"`
					Summary map[string]int     `json:"summary"`
				}{verdicts, map[string]int{"pass": pass, "fail": fail, "noexpect": none}}
				if err := encodeJSONTo(w, out); err != nil {
					return fatalError{err}
				}
			} else {
				var b strings.Builder
				for _, v := range verdicts {
					fmt.Fprintf(&b, "%-8s %s  (%s)\n", strings.ToUpper(map[string]string{"pass": "pass", "fail": "fail", "none": "noexpect"}[v.Status]), v.File, strings.Join(v.Summary, "; "))
					for _, p := range v.Problems {
						fmt.Fprintf(&b, "    %s:%d:%d: %s [%s]\n", p.File, p.Pos.Line, p.Pos.Col, p.Message, p.Rule)
					}
				}
				fmt.Fprintf(&b, "%d passed, %d failed, %d without expectations\n", pass, fail, none)
				if _, err := fmt.Fprint(w, b.String()); err != nil {
					return fatalError{err}
				}
			}
			if err := closeFn(); err != nil {
				return fatalError{err}
			}
			if fail > 0 {
				return errFindings
			}
			return nil
		},
	}
	o.register(c)
	return c
}

// onlyStepErrors says whether every error is a step-balance problem, which a
// litmus test may expect (lockdep's bad unlock balance); any other lint
// error means the file itself is broken.
func onlyStepErrors(ds []diag.Diagnostic) bool {
	for _, d := range ds {
		if d.Severity == diag.Error && d.Rule != rules.BadStep {
			return false
		}
	}
	return true
}
