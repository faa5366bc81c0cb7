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
	"github.com/fencecheck/fencecheck/internal/safetext"
)

// FileResult is what one input produced.
type FileResult struct {
	Path string
	// Source is the file's text; Compact replaces it by the few lines the
	// diagnostics quote, so a run over many files does not hold them all.
	Source []byte
	Lines  map[int]string
	Diags  []diag.Diagnostic
	// Scenario: the file decoded as a scenario (a mapping with the
	// `fencecheck:` key). Source lines are quoted under diagnostics only
	// then: a file that is not a scenario may be anything a symlink or a
	// hostile tree put there, and its lines are not ours to echo.
	Scenario bool
	// Coverage says what the exploration of the interleavings covered
	// (empty when the file was not executed); Complete, whether it
	// explored all of them (within its bound, if it had one).
	Coverage string
	Complete bool
}

// Options for the writers.
type Options struct {
	Color   bool
	Version string
	// Baseline, when a baseline was applied, says what it did.
	Baseline *BaselineStats
	// Quiet prints findings only: no summary.
	Quiet bool
	// Noun names what the summary counts: "bug" (check) or "problem" (lint).
	Noun string
}

// BaselineStats reports what --baseline suppressed.
type BaselineStats struct {
	Entries    int `json:"entries"`    // fingerprints in the baseline file
	Suppressed int `json:"suppressed"` // findings hidden because their fingerprint is listed
	Unmatched  int `json:"unmatched"`  // baseline entries that matched no finding (stale)
}

// Compact keeps only the source lines that r's diagnostics (and their
// chains) point at, and drops the rest of the file.
func (r *FileResult) Compact() {
	if r.Source == nil {
		return
	}
	want := map[int]bool{}
	for _, d := range r.Diags {
		want[d.Pos.Line] = true
		for _, st := range d.Chain {
			if st.File == d.File {
				want[st.Pos.Line] = true
			}
		}
	}
	r.Lines = map[int]string{}
	line, start := 1, 0
	src := r.Source
	for i := 0; i <= len(src); i++ {
		if i == len(src) || src[i] == '\n' {
			if want[line] {
				r.Lines[line] = string(src[start:i])
			}
			line, start = line+1, i+1
		}
	}
	r.Source = nil
}

// lineSource returns source line n (1-based), if it may be quoted.
type lineSource func(n int) (string, bool)

func (r *FileResult) lineSource() lineSource {
	if !r.Scenario {
		return func(int) (string, bool) { return "", false }
	}
	if r.Lines != nil {
		return func(n int) (string, bool) { l, ok := r.Lines[n]; return l, ok }
	}
	lines := strings.Split(string(r.Source), "\n")
	return func(n int) (string, bool) {
		if n < 1 || n > len(lines) {
			return "", false
		}
		return lines[n-1], true
	}
}

func (b BaselineStats) String() string {
	return fmt.Sprintf("%d finding(s) suppressed by baseline, %d baseline entr%s matched nothing",
		b.Suppressed, b.Unmatched, map[bool]string{true: "y", false: "ies"}[b.Unmatched == 1])
}

// Formats lists the accepted --format values for diagnostics.
var Formats = []string{"text", "json", "sarif", "github"}

// Fingerprint returns d's fingerprint, computing a position-free one when the
// analysis did not set it, so that baselines survive unrelated edits.
func Fingerprint(d diag.Diagnostic) string {
	if d.Fingerprint != "" {
		return d.Fingerprint
	}
	return hash(d.Rule, d.File, d.Mode, d.Message)
}

// FileFingerprint is the fingerprint a baseline stores: the finding's own
// (position-free) fingerprint bound to the file it is in, named by its
// cleaned path relative to the project root. The same bug copied into a new
// file is therefore a new finding, and "./a.yaml", "a.yaml" and an absolute
// path to it are one file.
func FileFingerprint(rel string, d diag.Diagnostic) string {
	inner := d.Fingerprint
	if inner == "" {
		inner = hash(d.Rule, d.Mode, d.Message)
	}
	return hash(d.Rule, rel, inner)
}

func hash(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(h[:8])
}

// clean returns a copy of d whose every text field is safe to print
// (safetext.Clean): names and file names come from untrusted input.
func clean(d diag.Diagnostic) diag.Diagnostic {
	d.File = safetext.Path(d.File)
	d.Message = safetext.Clean(d.Message)
	d.Hint = safetext.Clean(d.Hint)
	d.Canonical = safetext.Clean(d.Canonical)
	d.ChainExists = safetext.Clean(d.ChainExists)
	d.Cycle = cleanAll(d.Cycle)
	d.Scenario = cleanAll(d.Scenario)
	d.Chain = cleanSteps(d.Chain)
	if d.Splat != nil {
		sp := *d.Splat
		sp.Kernel, sp.Task, sp.Title = safetext.Clean(sp.Kernel), safetext.Clean(sp.Task), safetext.Clean(sp.Title)
		sp.Acquire, sp.Holding = cleanStep(sp.Acquire), cleanStep(sp.Holding)
		sp.Held = cleanSteps(sp.Held)
		sp.Body = cleanAll(sp.Body)
		if len(sp.Decor) > 0 {
			decor := make(map[string]string, len(sp.Decor))
			for k, v := range sp.Decor {
				decor[safetext.Clean(k)] = safetext.Clean(v)
			}
			sp.Decor = decor
		}
		d.Splat = &sp
	}
	if len(d.Blocked) > 0 {
		bl := make([]diag.Blocked, len(d.Blocked))
		for i, b := range d.Blocked {
			bl[i] = diag.Blocked{Task: safetext.Clean(b.Task), Context: safetext.Clean(b.Context), Waits: cleanStep(b.Waits), Holds: cleanSteps(b.Holds)}
		}
		d.Blocked = bl
	}
	if len(d.Related) > 0 {
		rel := make([]diag.Diagnostic, len(d.Related))
		for i, r := range d.Related {
			rel[i] = clean(r)
		}
		d.Related = rel
	}
	return d
}

func cleanStep(st diag.Step) diag.Step {
	st.File = safetext.Path(st.File)
	st.From, st.To = safetext.Clean(st.From), safetext.Clean(st.To)
	st.Kind, st.Path = safetext.Clean(st.Kind), safetext.Clean(st.Path)
	st.Context, st.Message = safetext.Clean(st.Context), safetext.Clean(st.Message)
	st.Builtin = safetext.Clean(st.Builtin)
	return st
}

func cleanSteps(sts []diag.Step) []diag.Step {
	if len(sts) == 0 {
		return sts
	}
	out := make([]diag.Step, len(sts))
	for i, st := range sts {
		out[i] = cleanStep(st)
	}
	return out
}

func cleanAll(xs []string) []string {
	if len(xs) == 0 {
		return xs
	}
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = safetext.Clean(x)
	}
	return out
}

// Write renders results in the named format.
func Write(w io.Writer, format string, results []FileResult, opt Options) error {
	switch format {
	case "text":
		return writeText(w, results, opt)
	case "json":
		return writeJSON(w, results, opt)
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
		lines := r.lineSource()
		for _, d := range r.Diags {
			d = clean(d)
			if len(d.Cycle) > 0 || len(d.Chain) > 0 {
				writeSplat(&b, p, r, lines, d)
			} else {
				writeOne(&b, p, lines, d)
			}
			writeBlocked(&b, p, d)
			writeRelated(&b, p, d)
		}
	}
	if !opt.Quiet {
		writeSummary(&b, p, results, opt)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeBlocked prints every task a hang left blocked the way the kernel's
// hung-task report and lockdep's held-lock list do: what it waits on, and
// each lock and signalling section it holds with the step that took it.
func writeBlocked(b *strings.Builder, p palette, d diag.Diagnostic) {
	if len(d.Blocked) == 0 {
		return
	}
	fmt.Fprintf(b, "blocked tasks when execution stopped:\n")
	for _, t := range d.Blocked {
		w := t.Waits
		// The wait's message names the thread already ("thread T (ctx)
		// waits for ..."): print what follows.
		msg := strings.TrimPrefix(w.Message, "thread "+t.Task+" ("+t.Context+") ")
		msg = strings.TrimPrefix(msg, "thread "+t.Task+" ")
		fmt.Fprintf(b, "  task %s (%s) %s\n", safetext.Clean(t.Task), safetext.Clean(t.Context), safetext.Clean(msg))
		fmt.Fprintf(b, "      at %s\n", p.pos.Sprint(safetext.Clean(stepWhere(w))))
		if len(t.Holds) == 0 {
			fmt.Fprintf(b, "    no locks held by %s\n", safetext.Clean(t.Task))
			continue
		}
		fmt.Fprintf(b, "    %s held by %s:\n", plural(len(t.Holds), "lock"), safetext.Clean(t.Task))
		for i, h := range t.Holds {
			fmt.Fprintf(b, "     #%d: (%s), at: %s\n", i, safetext.Clean(h.Message), p.pos.Sprint(safetext.Clean(stepWhere(h))))
		}
	}
	fmt.Fprintln(b)
}

// writeRelated lists what belongs to a finding without being a bug of its
// own, one line each: its consequences (the hang it causes, the fences
// left unsignalled) and other cycles through the same steps of the design
// (each names more sites a fix must change).
func writeRelated(b *strings.Builder, p palette, d diag.Diagnostic) {
	var cons, cycles []diag.Diagnostic
	for _, r := range d.Related {
		if r.Rule == d.Rule {
			cycles = append(cycles, r)
		} else {
			cons = append(cons, r)
		}
	}
	line := func(r diag.Diagnostic) {
		r = clean(r)
		fmt.Fprintf(b, "  %s %s %s\n", p.pos.Sprintf("%s:%d:%d:", r.File, r.Pos.Line, r.Pos.Col), r.Message, p.rule.Sprintf("[%s %s]", r.Rule, ruleName(r.Rule)))
		var sites []string
		for _, st := range r.Chain {
			if st.Builtin == "" && st.Pos.Valid() {
				sites = append(sites, fmt.Sprintf("%d:%d", st.Pos.Line, st.Pos.Col))
			}
		}
		if len(sites) > 0 && r.Rule == rules.Cycle {
			fmt.Fprintf(b, "      design steps on it: %s\n", strings.Join(sites, ", "))
		}
	}
	if len(cycles) > 0 {
		fmt.Fprintf(b, "other cycles through the same steps (fix every site):\n")
		for _, r := range cycles {
			line(r)
		}
		fmt.Fprintln(b)
	}
	if len(cons) > 0 {
		fmt.Fprintf(b, "consequences (the same bug, when it happens):\n")
		for _, r := range cons {
			line(r)
		}
		fmt.Fprintln(b)
		for _, r := range cons {
			writeBlocked(b, p, r)
		}
	}
}

// writeSummary ends a run: a per-file table when several files have
// findings, and one line that counts bugs (a finding with its
// consequences is one bug).
func writeSummary(b *strings.Builder, p palette, results []FileResult, opt Options) {
	noun := opt.Noun
	if noun == "" {
		noun = "bug"
	}
	type row struct {
		file        string
		errs, warns int
	}
	var rows []row
	width := len("file")
	for _, r := range results {
		e, w := Count([]FileResult{r})
		if e+w == 0 {
			continue
		}
		f := safetextPath(r.Path)
		rows = append(rows, row{f, e, w})
		width = max(width, len(f))
	}
	errs, warns := Count(results)
	if len(rows) > 1 {
		fmt.Fprintf(b, "%-*s  %6s  %8s\n", width, "file", "errors", "warnings")
		for _, r := range rows {
			fmt.Fprintf(b, "%-*s  %6d  %8d\n", width, r.file, r.errs, r.warns)
		}
		fmt.Fprintln(b)
	}
	if errs+warns == 0 {
		fmt.Fprintf(b, "checked %s: no %ss\n", plural(len(results), "file"), noun)
	} else {
		fmt.Fprintf(b, "checked %s: %s in %s (%s, %s)\n", plural(len(results), "file"), plural(errs+warns, noun),
			plural(len(rows), "file"), plural(errs, "error"), plural(warns, "warning"))
	}
	if opt.Baseline != nil {
		fmt.Fprintln(b, opt.Baseline.String())
	}
}

// stepWhere says where a step comes from: its YAML position, or the
// kernel fact (function and file) or fencecheck assumption behind a
// built-in step, with the declaration it applies to when there is one.
func stepWhere(st diag.Step) string {
	switch {
	case st.Builtin != "" && st.Pos.Valid():
		return fmt.Sprintf("%s (declared at %s:%d:%d)", st.Builtin, st.File, st.Pos.Line, st.Pos.Col)
	case st.Builtin != "":
		return st.Builtin
	case !st.Pos.Valid():
		return "built in"
	}
	return fmt.Sprintf("%s:%d:%d", st.File, st.Pos.Line, st.Pos.Col)
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func safetextPath(p string) string { return safetext.Path(p) }

func sevLabel(p palette, s diag.Severity) string {
	switch s {
	case diag.Warning:
		return p.warn.Sprint("warning: ")
	case diag.Note:
		return p.note.Sprint("note: ")
	}
	return p.err.Sprint("error: ")
}

// writeOne prints the compiler-style line, the source line and a caret.
func writeOne(b *strings.Builder, p palette, lines lineSource, d diag.Diagnostic) {
	fmt.Fprintf(b, "%s %s%s %s\n", p.pos.Sprintf("%s:%d:%d:", d.File, d.Pos.Line, d.Pos.Col),
		sevLabel(p, d.Severity), d.Message, p.rule.Sprintf("[%s]", d.Rule))
	writeSnippet(b, p, lines, d.Pos, "")
}

func writeSnippet(b *strings.Builder, p palette, lines lineSource, pos diag.Pos, indent string) {
	line, ok := lines(pos.Line)
	if !ok {
		return
	}
	src := strings.TrimRight(line, "\r")
	// A quoted line is file content: never one that a CI runner would read
	// as a workflow command (runners trim leading white space).
	if len(src) > 200 || !printable(src) || strings.HasPrefix(strings.TrimLeft(src, " \t"), "::") {
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

// printable: a source line may be quoted only if it has no control
// character but tabs (safetext.Unsafe).
func printable(s string) bool {
	_, bad := safetext.Unsafe(strings.ReplaceAll(s, "\t", " "))
	return !bad
}

// writeSplat prints a finding with a chain the way lockdep prints a circular
// dependency (K17), with YAML positions instead of stack traces.
func writeSplat(b *strings.Builder, p palette, r FileResult, lines lineSource, d diag.Diagnostic) {
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
	case d.Rule == rules.Hang && len(d.Cycle) > 0:
		fmt.Fprintln(b, "the wait-for cycle when execution stopped (each wait with the step that made it):")
	case d.Rule == rules.Hang:
		fmt.Fprintln(b, "the wait-for chain when execution stopped, ending at what never happens:")
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
		if label != "" {
			fmt.Fprintf(b, "-> #%d (%s):\n", n-1-i, p.bold.Sprint(label))
		} else {
			fmt.Fprintf(b, "-> #%d:\n", n-1-i)
		}
		where := stepWhere(st)
		ctx := ""
		switch {
		case st.Path != "" && st.Context != "":
			ctx = fmt.Sprintf(" [%s in %s]", st.Path, st.Context)
		case st.Path != "":
			ctx = fmt.Sprintf(" [%s]", st.Path)
		case st.Context != "":
			ctx = fmt.Sprintf(" [in %s]", st.Context) // a core-mm or system step: no path of the design
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

// splatTask is the task a lockdep report names ("kernel" for boot-time
// facts, which no task makes).
func splatTask(sp *diag.Splat) string {
	if sp.Task == "" {
		return "kernel"
	}
	return sp.Task
}

// splatLock prints a lock as lockdep's print_lock() does: class, usage
// and wait types, and where it was taken (a YAML position for an address).
func splatLock(p palette, sp *diag.Splat, st diag.Step) string {
	where := stepWhere(st)
	if st.Path != "" {
		where += " (" + st.Path + ")"
	}
	return fmt.Sprintf("(%s)%s, at: %s", st.To, sp.Decor[st.To], p.pos.Sprint(where))
}

// writeHeldLocks prints lockdep_print_held_locks(): "N locks held by T:".
func writeHeldLocks(b *strings.Builder, p palette, sp *diag.Splat) {
	task := splatTask(sp)
	switch {
	case !sp.HeldKnown:
	case len(sp.Held) == 0:
		fmt.Fprintf(b, "no locks held by %s.\n", task)
	default:
		fmt.Fprintf(b, "%s held by %s:\n", plural(len(sp.Held), "lock"), task)
		for i, h := range sp.Held {
			fmt.Fprintf(b, " #%d: %s\n", i, splatLock(p, sp, h))
		}
	}
}

// writeLockdepSplat prints a lockdep-mode finding as the kernel prints the
// report (kernel/locking/lockdep.c: print_circular_bug_header(),
// print_circular_bug_entry(), print_circular_lock_scenario(),
// print_deadlock_bug(), lockdep_print_held_locks()), line for line, with
// YAML positions where the kernel prints addresses and stack traces.
func writeLockdepSplat(b *strings.Builder, p palette, lines lineSource, d diag.Diagnostic) {
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
	task := splatTask(sp)
	at := func(st diag.Step) string { return splatLock(p, sp, st) }
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
				fmt.Fprintf(b, "       at %s\n", stepWhere(st))
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
	writeHeldLocks(b, p, sp)
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
func writeOtherSplat(b *strings.Builder, p palette, lines lineSource, d diag.Diagnostic) {
	sp := d.Splat
	fmt.Fprintln(b)
	fmt.Fprintln(b, strings.Repeat("=", sp.Bar))
	fmt.Fprintln(b, p.bold.Sprint(sp.Title))
	fmt.Fprintf(b, "kernel %s (fencecheck %s mode) %s\n", sp.Kernel, d.Mode, d.File)
	fmt.Fprintln(b, strings.Repeat("-", sp.Bar))
	for _, l := range sp.Body {
		fmt.Fprintln(b, l)
	}
	writeHeldLocks(b, p, sp)
	fmt.Fprintln(b)
	fmt.Fprintln(b, "each step, with the YAML that made it:")
	for _, st := range d.Chain {
		fmt.Fprintf(b, "       %s\n       at %s\n", st.Message, p.pos.Sprint(stepWhere(st)))
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
	// Related are this bug's consequences (hangs, unsignalled fences).
	Related []jsonRelated `json:"related,omitempty"`
	// Blocked: for a hang, every blocked task with its wait and held locks.
	Blocked []diag.Blocked `json:"blocked,omitempty"`
}

type jsonRelated struct {
	Rule    string   `json:"rule"`
	Name    string   `json:"name"`
	Message string   `json:"message"`
	File    string   `json:"file"`
	Line    int      `json:"line"`
	Column  int      `json:"column"`
	Cycle   []string `json:"cycle,omitempty"`
}

type jsonFile struct {
	File     string        `json:"file"`
	Findings []jsonFinding `json:"findings"`
	// Exploration: what execution covered, for a file that was executed.
	Exploration *jsonExploration `json:"exploration,omitempty"`
}

type jsonExploration struct {
	Coverage string `json:"coverage"`
	Complete bool   `json:"complete"`
}

type jsonReport struct {
	Version int        `json:"version"`
	Files   []jsonFile `json:"files"`
	Summary struct {
		Files    int `json:"files"`
		Errors   int `json:"errors"`
		Warnings int `json:"warnings"`
		// Bugs counts findings (errors and warnings) with their
		// consequences folded in; FilesWithFindings, the files that have one.
		Bugs              int            `json:"bugs"`
		FilesWithFindings int            `json:"files_with_findings"`
		Baseline          *BaselineStats `json:"baseline,omitempty"`
	} `json:"summary"`
}

func writeJSON(w io.Writer, results []FileResult, opt Options) error {
	rep := jsonReport{Version: 1, Files: []jsonFile{}}
	for _, r := range results {
		jf := jsonFile{File: r.Path, Findings: []jsonFinding{}}
		if r.Coverage != "" {
			jf.Exploration = &jsonExploration{Coverage: r.Coverage, Complete: r.Complete}
		}
		for _, d := range r.Diags {
			rule, _ := rules.Lookup(d.Rule)
			jf.Findings = append(jf.Findings, jsonFinding{
				Rule: d.Rule, Name: rule.Name, Severity: d.Severity.String(), Message: d.Message,
				File: d.File, Line: d.Pos.Line, Column: d.Pos.Col, Mode: d.Mode, Cycle: d.Cycle,
				Chain: d.Chain, ChainExists: d.ChainExists, Canonical: d.Canonical, Hint: d.Hint, Fingerprint: Fingerprint(d),
				Related: relatedJSON(d.Related), Blocked: d.Blocked,
			})
		}
		rep.Files = append(rep.Files, jf)
	}
	rep.Summary.Files = len(results)
	rep.Summary.Errors, rep.Summary.Warnings = Count(results)
	rep.Summary.Bugs = rep.Summary.Errors + rep.Summary.Warnings
	for _, r := range results {
		if e, w := Count([]FileResult{r}); e+w > 0 {
			rep.Summary.FilesWithFindings++
		}
	}
	rep.Summary.Baseline = opt.Baseline
	return encodeJSON(w, rep)
}

func relatedJSON(rs []diag.Diagnostic) []jsonRelated {
	var out []jsonRelated
	for _, r := range rs {
		out = append(out, jsonRelated{Rule: r.Rule, Name: ruleName(r.Rule), Message: r.Message, File: r.File,
			Line: r.Pos.Line, Column: r.Pos.Col, Cycle: r.Cycle})
	}
	return out
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
			d = clean(d)
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
				if st.Pos.Valid() {
					msg += fmt.Sprintf("\n  %s:%d: %s", st.File, st.Pos.Line, st.Message)
				} else {
					msg += fmt.Sprintf("\n  %s: %s", stepWhere(st), st.Message)
				}
			}
			if d.Hint != "" {
				msg += "\nfix: " + d.Hint
			}
			for _, r := range d.Related {
				r = clean(r)
				msg += fmt.Sprintf("\nconsequence: %s:%d: %s [%s]", r.File, r.Pos.Line, r.Message, r.Rule)
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
