// Package report writes diagnostics in the formats of the CLI contract:
// compiler-style text (with a lockdep-style splat for dependency cycles),
// JSON (the stable machine contract), SARIF 2.1.0 and GitHub workflow
// annotations. Every writer is deterministic: same input, same bytes.
package report

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/fatih/color"

	"github.com/fencecheck/fencecheck/internal/diag"
	"github.com/fencecheck/fencecheck/internal/rules"
)

// FileResult is what one input produced.
type FileResult struct {
	Path   string
	Source []byte
	Diags  []diag.Diagnostic
}

// Options for the writers.
type Options struct {
	Color   bool
	Version string
}

// Formats lists the accepted --format values for diagnostics.
var Formats = []string{"text", "json", "sarif", "github"}

// Fingerprint returns d's fingerprint, computing a position-free one when the
// analysis did not set it, so that baselines survive unrelated edits.
func Fingerprint(d diag.Diagnostic) string {
	if d.Fingerprint != "" {
		return d.Fingerprint
	}
	h := sha256.Sum256([]byte(d.Rule + "\x00" + d.File + "\x00" + d.Mode + "\x00" + d.Message))
	return hex.EncodeToString(h[:8])
}

// Write renders results in the named format.
func Write(w io.Writer, format string, results []FileResult, opt Options) error {
	switch format {
	case "text":
		return writeText(w, results, opt)
	case "json":
		return writeJSON(w, results)
	case "sarif":
		return writeSARIF(w, results, opt)
	case "github":
		return writeGitHub(w, results)
	}
	return fmt.Errorf("unknown format %q (want one of %s)", format, strings.Join(Formats, ", "))
}

// Count returns the number of errors and warnings.
func Count(results []FileResult) (errs, warns int) {
	for _, r := range results {
		for _, d := range r.Diags {
			switch d.Severity {
			case diag.Error:
				errs++
			case diag.Warning:
				warns++
			}
		}
	}
	return
}

type palette struct {
	pos, err, warn, note, rule, caret, bold, dim *color.Color
}

func newPalette(on bool) palette {
	mk := func(a ...color.Attribute) *color.Color {
		c := color.New(a...)
		if on {
			c.EnableColor()
		} else {
			c.DisableColor()
		}
		return c
	}
	return palette{
		pos: mk(color.Bold), err: mk(color.FgRed, color.Bold), warn: mk(color.FgYellow, color.Bold),
		note: mk(color.FgCyan), rule: mk(color.FgHiBlack), caret: mk(color.FgGreen, color.Bold),
		bold: mk(color.Bold), dim: mk(color.FgHiBlack),
	}
}

func writeText(w io.Writer, results []FileResult, opt Options) error {
	p := newPalette(opt.Color)
	var b strings.Builder
	for _, r := range results {
		lines := strings.Split(string(r.Source), "\n")
		for _, d := range r.Diags {
			if len(d.Cycle) > 0 || len(d.Chain) > 0 {
				writeSplat(&b, p, r, lines, d)
				continue
			}
			writeOne(&b, p, lines, d)
		}
	}
	errs, warns := Count(results)
	if errs+warns > 0 {
		fmt.Fprintf(&b, "%d error(s), %d warning(s) in %d file(s)\n", errs, warns, len(results))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func sevLabel(p palette, s diag.Severity) string {
	switch s {
	case diag.Warning:
		return p.warn.Sprint("warning: ")
	case diag.Note:
		return p.note.Sprint("note: ")
	}
	return ""
}

// writeOne prints the compiler-style line, the source line and a caret.
func writeOne(b *strings.Builder, p palette, lines []string, d diag.Diagnostic) {
	fmt.Fprintf(b, "%s %s%s %s\n", p.pos.Sprintf("%s:%d:%d:", d.File, d.Pos.Line, d.Pos.Col),
		sevLabel(p, d.Severity), d.Message, p.rule.Sprintf("[%s]", d.Rule))
	writeSnippet(b, p, lines, d.Pos, "")
}

func writeSnippet(b *strings.Builder, p palette, lines []string, pos diag.Pos, indent string) {
	if pos.Line < 1 || pos.Line > len(lines) {
		return
	}
	src := strings.TrimRight(lines[pos.Line-1], "\r")
	if len(src) > 200 || !printable(src) {
		return
	}
	fmt.Fprintf(b, "%s  %s\n", indent, src)
	// Keep tabs so the caret lines up under the same terminal tab stops.
	var pad strings.Builder
	for i, r := range []rune(src) {
		if i >= pos.Col-1 {
			break
		}
		if r == '\t' {
			pad.WriteByte('\t')
		} else {
			pad.WriteByte(' ')
		}
	}
	fmt.Fprintf(b, "%s  %s%s\n", indent, pad.String(), p.caret.Sprint("^"))
}

func printable(s string) bool {
	for _, r := range s {
		if r == 0xFFFD || (r < 0x20 && r != '\t') {
			return false
		}
	}
	return true
}

// writeSplat prints a finding with a chain the way lockdep prints a circular
// dependency (primer 4.2), with YAML positions instead of stack traces.
func writeSplat(b *strings.Builder, p palette, r FileResult, lines []string, d diag.Diagnostic) {
	if d.Splat != nil {
		writeLockdepSplat(b, p, lines, d)
		return
	}
	rule, _ := rules.Lookup(d.Rule)
	bar := strings.Repeat("=", 54)
	fmt.Fprintf(b, "%s %s%s %s\n", p.pos.Sprintf("%s:%d:%d:", d.File, d.Pos.Line, d.Pos.Col),
		sevLabel(p, d.Severity), d.Message, p.rule.Sprintf("[%s %s]", d.Rule, rule.Name))
	fmt.Fprintln(b, bar)
	head := "WARNING: " + rule.Summary
	if d.Rule == rules.Cycle {
		head = "WARNING: possible circular locking dependency detected"
	} else if d.Rule == rules.RecursiveLocking {
		head = "WARNING: possible recursive locking detected"
	}
	fmt.Fprintln(b, p.bold.Sprint(head))
	if d.Mode != "" {
		fmt.Fprintf(b, "fencecheck (%s mode) %s\n", d.Mode, d.File)
	}
	fmt.Fprintln(b, strings.Repeat("-", 54))
	switch {
	case d.Rule == rules.Hang:
		fmt.Fprintln(b, "the wait-for cycle when execution stopped (each wait with the step that made it):")
	case len(d.Cycle) > 0:
		fmt.Fprintln(b, "the dependency chain (in order, each edge with the step that made it):")
	default:
		fmt.Fprintln(b, "how it happens:")
	}
	fmt.Fprintln(b)
	n := len(d.Chain)
	for i, st := range d.Chain {
		label := st.To
		if label == "" {
			label = st.From
		}
		if len(d.Cycle) > 0 {
			fmt.Fprintf(b, "-> #%d (%s):\n", n-1-i, p.bold.Sprint(label))
		} else {
			fmt.Fprintf(b, "-> #%d:\n", n-1-i)
		}
		where := fmt.Sprintf("%s:%d:%d", st.File, st.Pos.Line, st.Pos.Col)
		if !st.Pos.Valid() {
			where = "kernel prelude (built in, primer 1.3.1)"
		}
		ctx := ""
		if st.Path != "" || st.Context != "" {
			ctx = fmt.Sprintf(" [%s", st.Path)
			if st.Context != "" {
				ctx += " in " + st.Context
			}
			ctx += "]"
		}
		kind := ""
		if st.Kind != "" {
			kind = p.dim.Sprintf("(%s) ", st.Kind)
		}
		fmt.Fprintf(b, "       %s%s%s\n", kind, st.Message, ctx)
		fmt.Fprintf(b, "       at %s\n", p.pos.Sprint(where))
		if !st.Pos.Valid() {
			continue
		}
		writeSnippet(b, p, lines, st.Pos, "     ")
	}
	if d.ChainExists != "" {
		fmt.Fprintln(b)
		fmt.Fprintln(b, "Chain exists of:")
		fmt.Fprintf(b, "  %s\n", d.ChainExists)
	}
	if len(d.Scenario) > 0 {
		fmt.Fprintln(b)
		fmt.Fprintln(b, " Possible unsafe locking scenario:")
		fmt.Fprintln(b)
		for _, l := range d.Scenario {
			fmt.Fprintln(b, l)
		}
		fmt.Fprintln(b)
		fmt.Fprintln(b, " *** DEADLOCK ***")
	}
	if d.Canonical != "" {
		fmt.Fprintf(b, "\nshape: %s\n", d.Canonical)
	}
	if d.Hint != "" {
		fmt.Fprintf(b, "%s %s\n", p.note.Sprint("fix:"), d.Hint)
	}
	fmt.Fprintln(b)
}

// writeLockdepSplat prints a lockdep-mode finding as the kernel prints the
// report (kernel/locking/lockdep.c: print_circular_bug_header(),
// print_circular_bug_entry(), print_circular_lock_scenario(),
// print_deadlock_bug(), lockdep_print_held_locks()), line for line, with
// YAML positions where the kernel prints addresses and stack traces.
func writeLockdepSplat(b *strings.Builder, p palette, lines []string, d diag.Diagnostic) {
	rule, _ := rules.Lookup(d.Rule)
	sp := d.Splat
	fmt.Fprintf(b, "%s %s%s %s\n", p.pos.Sprintf("%s:%d:%d:", d.File, d.Pos.Line, d.Pos.Col),
		sevLabel(p, d.Severity), d.Message, p.rule.Sprintf("[%s %s]", d.Rule, rule.Name))
	if sp.Title != "" {
		writeOtherSplat(b, p, lines, d)
		return
	}
	head, width := "WARNING: possible circular locking dependency detected", 54
	if d.Rule == rules.RecursiveLocking {
		head, width = "WARNING: possible recursive locking detected", 44
	}
	fmt.Fprintln(b)
	fmt.Fprintln(b, strings.Repeat("=", width))
	fmt.Fprintln(b, p.bold.Sprint(head))
	fmt.Fprintf(b, "kernel %s (fencecheck lockdep mode) %s\n", sp.Kernel, d.File)
	fmt.Fprintln(b, strings.Repeat("-", width))
	task := sp.Task
	if task == "" {
		task = "kernel"
	}
	at := func(st diag.Step) string {
		where := fmt.Sprintf("%s:%d:%d", st.File, st.Pos.Line, st.Pos.Col)
		if !st.Pos.Valid() {
			where = "kernel prelude (built in)"
		}
		if st.Path != "" {
			where += " (" + st.Path + ")"
		}
		return fmt.Sprintf("(%s)%s, at: %s", st.To, sp.Decor[st.To], p.pos.Sprint(where))
	}
	fmt.Fprintf(b, "%s is trying to acquire lock:\n", task)
	fmt.Fprintln(b, at(sp.Acquire))
	fmt.Fprintln(b)
	fmt.Fprintln(b, "but task is already holding lock:")
	fmt.Fprintln(b, at(sp.Holding))
	if d.Rule == rules.Cycle {
		fmt.Fprintln(b)
		fmt.Fprintln(b, "which lock already depends on the new lock.")
		fmt.Fprintln(b)
		fmt.Fprintln(b)
		fmt.Fprintln(b, "the existing dependency chain (in reverse order) is:")
		// Entry #k names the lock the chain reaches at depth k, with the
		// edge into it: prev first, down to #0, the new lock and the
		// acquisition that closes the cycle.
		n := len(d.Chain)
		for k := n - 1; k >= 0; k-- {
			st := d.Chain[(k+n-1)%n]
			label := st.To
			fmt.Fprintf(b, "\n-> #%d (%s)%s:\n", k, p.bold.Sprint(label), sp.Decor[label])
			kind := ""
			if st.Kind != "" {
				kind = p.dim.Sprintf("(%s) ", st.Kind)
			}
			ctx := ""
			if st.Path != "" {
				ctx = " [" + st.Path
				if st.Context != "" {
					ctx += " in " + st.Context
				}
				ctx += "]"
			}
			fmt.Fprintf(b, "       %s%s%s\n", kind, st.Message, ctx)
			if !st.Pos.Valid() {
				fmt.Fprintln(b, "       at kernel prelude (built in)")
				continue
			}
			fmt.Fprintf(b, "       at %s\n", p.pos.Sprintf("%s:%d:%d", st.File, st.Pos.Line, st.Pos.Col))
			writeSnippet(b, p, lines, st.Pos, "     ")
		}
	}
	fmt.Fprintln(b)
	fmt.Fprintln(b, "other info that might help us debug this:")
	if d.Rule == rules.Cycle {
		fmt.Fprintln(b)
		if d.ChainExists != "" {
			fmt.Fprintln(b, "Chain exists of:")
			fmt.Fprintf(b, "  %s\n", d.ChainExists)
			fmt.Fprintln(b)
		}
	}
	fmt.Fprintln(b, " Possible unsafe locking scenario:")
	fmt.Fprintln(b)
	for _, l := range d.Scenario {
		fmt.Fprintln(b, l)
	}
	fmt.Fprintln(b)
	fmt.Fprintln(b, " *** DEADLOCK ***")
	fmt.Fprintln(b)
	if d.Rule == rules.RecursiveLocking {
		fmt.Fprintln(b, " May be due to missing lock nesting notation")
		fmt.Fprintln(b)
	}
	switch {
	case !sp.HeldKnown:
	case len(sp.Held) == 0:
		fmt.Fprintf(b, "no locks held by %s.\n", task)
	default:
		s := "s"
		if len(sp.Held) == 1 {
			s = ""
		}
		fmt.Fprintf(b, "%d lock%s held by %s:\n", len(sp.Held), s, task)
		for i, h := range sp.Held {
			fmt.Fprintf(b, " #%d: %s\n", i, at(h))
		}
	}
	if d.Canonical != "" {
		fmt.Fprintf(b, "\nshape: %s\n", d.Canonical)
	}
	if d.Hint != "" {
		fmt.Fprintf(b, "%s %s\n", p.note.Sprint("fix:"), d.Hint)
	}
	fmt.Fprintln(b)
}

// writeOtherSplat prints the lockdep reports other than circular and
// recursive locking (inconsistent lock state, irq lock inversion, invalid
// wait context): the analysis renders their body, in the kernel's words;
// the held locks and fencecheck's explanation follow.
func writeOtherSplat(b *strings.Builder, p palette, lines []string, d diag.Diagnostic) {
	sp := d.Splat
	fmt.Fprintln(b)
	fmt.Fprintln(b, strings.Repeat("=", sp.Bar))
	fmt.Fprintln(b, p.bold.Sprint(sp.Title))
	fmt.Fprintf(b, "kernel %s (fencecheck %s mode) %s\n", sp.Kernel, d.Mode, d.File)
	fmt.Fprintln(b, strings.Repeat("-", sp.Bar))
	for _, l := range sp.Body {
		fmt.Fprintln(b, l)
	}
	task := sp.Task
	if task == "" {
		task = "kernel"
	}
	switch {
	case !sp.HeldKnown:
	case len(sp.Held) == 0:
		fmt.Fprintf(b, "no locks held by %s.\n", task)
	default:
		s := "s"
		if len(sp.Held) == 1 {
			s = ""
		}
		fmt.Fprintf(b, "%d lock%s held by %s:\n", len(sp.Held), s, task)
		for i, h := range sp.Held {
			where := fmt.Sprintf("%s:%d:%d", h.File, h.Pos.Line, h.Pos.Col)
			if !h.Pos.Valid() {
				where = "kernel prelude (built in)"
			}
			if h.Path != "" {
				where += " (" + h.Path + ")"
			}
			fmt.Fprintf(b, " #%d: (%s)%s, at: %s\n", i, h.To, sp.Decor[h.To], p.pos.Sprint(where))
		}
	}
	fmt.Fprintln(b)
	fmt.Fprintln(b, "each step, with the YAML that made it:")
	for _, st := range d.Chain {
		where := fmt.Sprintf("%s:%d:%d", st.File, st.Pos.Line, st.Pos.Col)
		if !st.Pos.Valid() {
			where = "kernel prelude (built in)"
		}
		fmt.Fprintf(b, "       %s\n       at %s\n", st.Message, p.pos.Sprint(where))
		if st.Pos.Valid() {
			writeSnippet(b, p, lines, st.Pos, "     ")
		}
	}
	if d.Hint != "" {
		fmt.Fprintf(b, "%s %s\n", p.note.Sprint("fix:"), d.Hint)
	}
	fmt.Fprintln(b)
}

type jsonFinding struct {
	Rule        string      `json:"rule"`
	Name        string      `json:"name"`
	Severity    string      `json:"severity"`
	Message     string      `json:"message"`
	File        string      `json:"file"`
	Line        int         `json:"line"`
	Column      int         `json:"column"`
	Mode        string      `json:"mode,omitempty"`
	Cycle       []string    `json:"cycle,omitempty"`
	Chain       []diag.Step `json:"chain,omitempty"`
	ChainExists string      `json:"chain_exists,omitempty"`
	Canonical   string      `json:"canonical,omitempty"`
	Hint        string      `json:"hint,omitempty"`
	Fingerprint string      `json:"fingerprint"`
}

type jsonFile struct {
	File     string        `json:"file"`
	Findings []jsonFinding `json:"findings"`
}

type jsonReport struct {
	Version int        `json:"version"`
	Files   []jsonFile `json:"files"`
	Summary struct {
		Files    int `json:"files"`
		Errors   int `json:"errors"`
		Warnings int `json:"warnings"`
	} `json:"summary"`
}

func writeJSON(w io.Writer, results []FileResult) error {
	rep := jsonReport{Version: 1, Files: []jsonFile{}}
	for _, r := range results {
		jf := jsonFile{File: r.Path, Findings: []jsonFinding{}}
		for _, d := range r.Diags {
			rule, _ := rules.Lookup(d.Rule)
			jf.Findings = append(jf.Findings, jsonFinding{
				Rule: d.Rule, Name: rule.Name, Severity: d.Severity.String(), Message: d.Message,
				File: d.File, Line: d.Pos.Line, Column: d.Pos.Col, Mode: d.Mode, Cycle: d.Cycle,
				Chain: d.Chain, ChainExists: d.ChainExists, Canonical: d.Canonical, Hint: d.Hint, Fingerprint: Fingerprint(d),
			})
		}
		rep.Files = append(rep.Files, jf)
	}
	rep.Summary.Files = len(results)
	rep.Summary.Errors, rep.Summary.Warnings = Count(results)
	return encodeJSON(w, rep)
}

func encodeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// writeGitHub emits workflow commands; GitHub shows them as annotations on
// the file and line. Properties and data are escaped as the runner requires.
func writeGitHub(w io.Writer, results []FileResult) error {
	var b strings.Builder
	for _, r := range results {
		for _, d := range r.Diags {
			level := "error"
			switch d.Severity {
			case diag.Warning:
				level = "warning"
			case diag.Note:
				level = "notice"
			}
			msg := d.Message
			if len(d.Cycle) > 0 {
				msg += "\nChain: " + strings.Join(append(append([]string{}, d.Cycle...), d.Cycle[0]), " --> ")
			}
			for _, st := range d.Chain {
				msg += fmt.Sprintf("\n  %s:%d: %s", st.File, st.Pos.Line, st.Message)
			}
			if d.Hint != "" {
				msg += "\nfix: " + d.Hint
			}
			fmt.Fprintf(&b, "::%s file=%s,line=%d,col=%d,title=%s::%s\n", level,
				ghProp(d.File), d.Pos.Line, d.Pos.Col, ghProp(d.Rule+" "+ruleName(d.Rule)), ghData(msg))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func ruleName(id string) string {
	r, _ := rules.Lookup(id)
	return r.Name
}

func ghData(s string) string {
	s = strings.ReplaceAll(s, "%", "%25")
	s = strings.ReplaceAll(s, "\r", "%0D")
	return strings.ReplaceAll(s, "\n", "%0A")
}

func ghProp(s string) string {
	s = ghData(s)
	s = strings.ReplaceAll(s, ":", "%3A")
	return strings.ReplaceAll(s, ",", "%2C")
}
