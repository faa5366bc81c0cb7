package analysis

import (
	"fmt"
	"strings"

	"github.com/fencecheck/fencecheck/internal/diag"
	"github.com/fencecheck/fencecheck/internal/graph"
	"github.com/fencecheck/fencecheck/internal/group"
	"github.com/fencecheck/fencecheck/internal/model"
	"github.com/fencecheck/fencecheck/internal/rules"
)

// Verdict is the outcome of checking one scenario against its expectations.
type Verdict struct {
	File string `json:"file"`
	// Status is "pass", "fail" or "none" (the file has no expect: section).
	Status string `json:"status"`
	// Problems explain a failure, each positioned at the expectation.
	Problems []diag.Diagnostic `json:"problems,omitempty"`
	// Summary is one line per mode checked.
	Summary []string `json:"summary"`
}

// Verify runs the analysis in every mode the scenario's expectations name
// and compares the findings with them.
func Verify(sc *model.Scenario) Verdict {
	return VerifyWithLint(sc, nil)
}

// VerifyWithLint is Verify for a file that may have lint errors: a file
// with errors is not analysed, and its expectations are compared with the
// lint diagnostics instead (so a litmus test can expect, say, lockdep's
// "bad unlock balance", which the loader reports).
func VerifyWithLint(sc *model.Scenario, lint []diag.Diagnostic) Verdict {
	return verify(sc, lint, Options{})
}

// VerifyWith is Verify with analysis options (an exploration other than
// the default, say); opt.Mode is set from each expectation.
func VerifyWith(sc *model.Scenario, opt Options) Verdict {
	return verify(sc, nil, opt)
}

func verify(sc *model.Scenario, lint []diag.Diagnostic, opt Options) Verdict {
	v := Verdict{File: sc.Path, Status: "pass"}
	if len(sc.File.Expect) == 0 {
		v.Status = "none"
		return v
	}
	var lintErrs []diag.Diagnostic
	for _, d := range lint {
		if d.Severity == diag.Error {
			lintErrs = append(lintErrs, d)
		}
	}
	cache := map[graph.Mode][]diag.Diagnostic{}
	if len(lintErrs) > 0 {
		cache[graph.Precise], cache[graph.Lockdep] = lint, lint
	}
	for _, e := range sc.File.Expect {
		mode := graph.Precise
		if e.Mode.V == "lockdep" {
			mode = graph.Lockdep
		}
		got, ok := cache[mode]
		if !ok {
			o := opt
			o.Mode = mode
			got = findingsOnly(Run(sc, o).Diags)
			cache[mode] = got
		}
		probs := match(sc.Path, e, got, mode)
		if len(probs) > 0 {
			v.Status = "fail"
			v.Problems = append(v.Problems, probs...)
		}
		v.Summary = append(v.Summary, fmt.Sprintf("%s: %s", mode, describe(got)))
	}
	return v
}

func findingsOnly(ds []diag.Diagnostic) []diag.Diagnostic {
	var out []diag.Diagnostic
	for _, d := range ds {
		if d.Severity == diag.Error || d.Severity == diag.Warning {
			out = append(out, d)
		}
	}
	return out
}

func describe(ds []diag.Diagnostic) string {
	if len(ds) == 0 {
		return "clean"
	}
	var parts []string
	for _, d := range ds {
		s := d.Rule
		if len(d.Cycle) > 0 {
			s += " [" + strings.Join(d.Cycle, " -> ") + "]"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", ")
}

func match(file string, e model.Expect, got []diag.Diagnostic, mode graph.Mode) []diag.Diagnostic {
	var probs []diag.Diagnostic
	fail := func(p model.Pos, format string, args ...any) {
		probs = append(probs, diag.Diagnostic{File: file, Pos: p, Rule: rules.ExpectMismatch, Severity: diag.Error,
			Mode: string(mode), Message: fmt.Sprintf("%s mode: ", mode) + fmt.Sprintf(format, args...)})
	}
	if e.Clean.V {
		if len(got) > 0 {
			fail(e.Clean.P, "expected clean, got %s", describe(got))
		}
		return probs
	}
	// An expectation may name a consequence (the hang a cycle causes), but
	// only the bugs themselves must all be named.
	all := group.Flatten(got)
	top := make([]int, len(got)) // index of got[i] in all
	for i, k := 0, 0; i < len(got); i++ {
		top[i] = k
		k += 1 + len(got[i].Related)
	}
	used := make([]bool, len(all))
	for _, ef := range e.Findings {
		found := -1
		for i, d := range all {
			if !used[i] && matches(ef, d) {
				found = i
				break
			}
		}
		if found < 0 {
			fail(ef.P, "expected %s not found; got %s", expectText(ef), describe(got))
			continue
		}
		used[found] = true
	}
	if !e.AllowExtra.V {
		for i, d := range got {
			if !used[top[i]] {
				fail(e.P, "unexpected finding %s at %s: %s (list it, or set allow_extra: true)", d.Rule, d.Pos, d.Message)
			}
		}
	}
	return probs
}

func expectText(ef model.ExpectFinding) string {
	s := ef.Rule.V
	if len(ef.Cycle) > 0 {
		s += " with cycle [" + strings.Join(strs(ef.Cycle), " -> ") + "]"
	}
	if len(ef.Contains) > 0 {
		s += " containing [" + strings.Join(strs(ef.Contains), ", ") + "]"
	}
	if ef.Message.V != "" {
		s += fmt.Sprintf(" with message %q", ef.Message.V)
	}
	if ef.ChainExists.V != "" {
		s += fmt.Sprintf(" with Chain exists of %q", ef.ChainExists.V)
	}
	return s
}

func strs(l model.StrList) []string {
	out := make([]string, len(l))
	for i, s := range l {
		out[i] = s.V
	}
	return out
}

func matches(ef model.ExpectFinding, d diag.Diagnostic) bool {
	r, ok := rules.Lookup(ef.Rule.V)
	if !ok || r.ID != d.Rule {
		return false
	}
	if len(ef.Cycle) > 0 && !sameCycle(strs(ef.Cycle), d.Cycle) {
		return false
	}
	for _, c := range ef.Contains {
		if !containsNode(d, c.V) {
			return false
		}
	}
	if ef.Message.V != "" && !strings.Contains(d.Message, ef.Message.V) {
		return false
	}
	if ef.ChainExists.V != "" && ef.ChainExists.V != d.ChainExists {
		return false
	}
	return true
}

func containsNode(d diag.Diagnostic, s string) bool {
	for _, n := range d.Cycle {
		if n == s {
			return true
		}
	}
	if len(d.Cycle) == 0 && strings.Contains(d.Message, s) {
		return true
	}
	return false
}

// sameCycle compares cycles up to rotation.
func sameCycle(want, got []string) bool {
	if len(want) != len(got) {
		return false
	}
	n := len(got)
	for r := 0; r < n; r++ {
		ok := true
		for i := 0; i < n; i++ {
			if want[i] != got[(i+r)%n] {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}
