package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fencecheck/fencecheck/internal/analysis"
	"github.com/fencecheck/fencecheck/internal/diag"
	"github.com/fencecheck/fencecheck/internal/rules"
	"github.com/fencecheck/fencecheck/internal/safetext"
)

func newTest(e *env) *cobra.Command {
	var o outputFlags
	var scan scanFlags
	c := &cobra.Command{
		Use:   "test [flags] FILE|DIR|-...",
		Short: "Run scenarios and compare their findings with their expect: sections",
		Long: `test analyses each scenario in every mode its expect: section names and
compares the findings with the expectations (rule, cycle, contained nodes,
message, clean). A file fails if an expected finding is missing or if it has
a finding its expectation does not list (unless it says allow_extra: true). It prints one PASS/FAIL line per file and a summary.
Files without expectations are listed as NOEXPECT and do not fail the run.

Exit status: 0 all expectations met, 1 a mismatch or an invalid file,
2 bad invocation, 3 fatal error.`,
		RunE: func(c *cobra.Command, args []string) error {
			if err := o.validate(); err != nil {
				return err
			}
			if err := checkOutputPath(o.output); err != nil {
				return fatalError{err}
			}
			ins, err := collectInputs(e, args, scan.options(o.inputFlags))
			if err != nil {
				return err
			}
			lo := scan.loadOptions(o.inputFlags)
			verdicts := eachInput(ins, func(in input) analysis.Verdict {
				r, sc := loadInput(in, lo)
				if sc != nil && len(sc.File.Expect) > 0 && onlyStepErrors(r.Diags) {
					return analysis.VerifyWithLint(sc, r.Diags)
				}
				if sc == nil || hasErrors(r.Diags) {
					if len(r.Diags) == 1 && r.Diags[0].Rule == rules.NotAScenario {
						return analysis.Verdict{File: in.path, Status: "none", Problems: r.Diags, Summary: []string{"not a scenario"}}
					}
					return analysis.Verdict{File: in.path, Status: "fail", Problems: r.Diags, Summary: []string{"invalid scenario"}}
				}
				return analysis.Verify(sc)
			}, func(in input, msg string) analysis.Verdict {
				return analysis.Verdict{File: in.path, Status: "fail", Problems: []diag.Diagnostic{internalError(in.path, msg)}, Summary: []string{"internal error"}}
			})
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
			err = o.write(e, func(w io.Writer, _ bool) error {
				if o.format == "json" {
					out := struct {
						Results []analysis.Verdict `json:"results"`
						Summary map[string]int     `json:"summary"`
					}{verdicts, map[string]int{"pass": pass, "fail": fail, "noexpect": none}}
					return encodeJSONTo(w, out)
				}
				var b strings.Builder
				for _, v := range verdicts {
					fmt.Fprintf(&b, "%-8s %s  (%s)\n", strings.ToUpper(map[string]string{"pass": "pass", "fail": "fail", "none": "noexpect"}[v.Status]), safetext.Path(v.File), safetext.Clean(strings.Join(v.Summary, "; ")))
					for _, p := range v.Problems {
						fmt.Fprintf(&b, "    %s:%d:%d: %s [%s]\n", safetext.Clean(p.File), p.Pos.Line, p.Pos.Col, safetext.Clean(p.Message), p.Rule)
					}
				}
				fmt.Fprintf(&b, "%d passed, %d failed, %d without expectations\n", pass, fail, none)
				_, err := io.WriteString(w, b.String())
				return err
			})
			if err != nil {
				return err
			}
			if fail > 0 {
				return errFindings
			}
			return nil
		},
	}
	o.register(c, []string{"text", "json"}, false)
	scan.register(c)
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
