// Package diag holds the position and diagnostic types shared by every stage
// of fencecheck: the loader reports lint problems with them, the analysis
// reports findings with them, and the report writers print them.
package diag

import (
	"fmt"
	"sort"
)

// Pos is a 1-based line and column in a scenario file. The column counts
// Unicode code points, as yaml.v3 does (and as SARIF's default column kind
// expects).
type Pos struct {
	Line int `json:"line"`
	Col  int `json:"column"`
}

// Valid reports whether the position points into a file.
func (p Pos) Valid() bool { return p.Line > 0 }

func (p Pos) String() string { return fmt.Sprintf("%d:%d", p.Line, p.Col) }

// Less orders positions by line, then column.
func (p Pos) Less(q Pos) bool {
	if p.Line != q.Line {
		return p.Line < q.Line
	}
	return p.Col < q.Col
}

// Severity of a diagnostic. The zero value is an error so that a forgotten
// severity never hides a problem.
type Severity int

const (
	Error Severity = iota
	Warning
	Note
)

func (s Severity) String() string {
	switch s {
	case Warning:
		return "warning"
	case Note:
		return "note"
	default:
		return "error"
	}
}

// ParseSeverity is the inverse of String.
func ParseSeverity(s string) (Severity, bool) {
	switch s {
	case "error":
		return Error, true
	case "warning":
		return Warning, true
	case "note":
		return Note, true
	}
	return Error, false
}

// Step is one link of a finding's explanation: a chain edge, a thread's
// blocked wait, a violating step. It always points at the YAML that caused it.
type Step struct {
	File    string `json:"file"`
	Pos     Pos    `json:"pos"`
	From    string `json:"from,omitempty"`
	To      string `json:"to,omitempty"`
	Kind    string `json:"kind,omitempty"`
	Path    string `json:"path,omitempty"`
	Context string `json:"context,omitempty"`
	Message string `json:"message"`
	// Builtin names the kernel fact (function and file) or fencecheck
	// assumption behind a step no line of the design made; Pos is then
	// zero or points at the declaration the fact applies to.
	Builtin string `json:"builtin,omitempty"`
}

// Diagnostic is one problem: a lint error in a scenario file or a finding of
// the analysis.
type Diagnostic struct {
	File     string   `json:"file"`
	Pos      Pos      `json:"pos"`
	Rule     string   `json:"rule"`
	Severity Severity `json:"-"`
	Message  string   `json:"message"`
	// Cycle lists the nodes of a dependency cycle, rotated to a canonical
	// start (empty for other findings).
	Cycle []string `json:"cycle,omitempty"`
	// Chain explains the finding edge by edge, or step by step.
	Chain []Step `json:"chain,omitempty"`
	// Hint is a concrete suggestion for a fix.
	Hint string `json:"hint,omitempty"`
	// Canonical names the canonical cycle (C1–C15 of docs/kernel-rules.md) matched, if any.
	Canonical string `json:"canonical,omitempty"`
	// ChainExists is lockdep's three-name "Chain exists of:" line
	// (next --> parent --> prev), when the cycle has more than two nodes.
	ChainExists string `json:"chain_exists,omitempty"`
	// Scenario carries the "possible unsafe scenario" table for cycles.
	Scenario []string `json:"-"`
	// Fingerprint identifies the finding across unrelated edits of the file.
	Fingerprint string `json:"fingerprint,omitempty"`
	// Mode is the analysis mode that produced the finding ("" for lint).
	Mode string `json:"mode,omitempty"`
	// Related are the consequences of this finding that would otherwise be
	// reported as findings of their own: the hang a cycle causes, the
	// fences that hang leaves unsignalled, the same wait-for cycle found
	// in another interleaving (internal/group).
	Related []Diagnostic `json:"related,omitempty"`
	// Blocked lists, for a hang, every task blocked when execution stopped,
	// with what it waits on and what it holds (the kernel's hung-task
	// report with lockdep's held locks).
	Blocked []Blocked `json:"blocked,omitempty"`
	// Splat holds what a lockdep report prints beyond the chain (lockdep
	// mode only): the report's text writer prints it the kernel's way.
	Splat *Splat `json:"-"`
}

// Splat is the task, lock and held-lock part of a lockdep report.
type Splat struct {
	Kernel string // the kernel release modelled, e.g. "6.8"
	Task   string // the thread that makes the closing acquisition
	// Acquire is the lock being acquired ("is trying to acquire lock"),
	// Holding the held lock it conflicts with ("already holding lock");
	// each Step's To is the class, Pos/Path where it happens.
	Acquire, Holding Step
	// Held is every lock the task holds at that moment, outermost first
	// ("N locks held by"); HeldKnown is false when the closing edge is the
	// kernel's own (no task to speak of).
	Held      []Step
	HeldKnown bool
	// Title, Bar and Body are the other report kinds (inconsistent lock
	// state, irq lock inversion, invalid wait context): the header line,
	// the width of its "=" bar, and the lines up to the held locks.
	Title string
	Bar   int
	Body  []string
	// Decor is what lockdep prints after a class name where it prints the
	// class in full: its usage and wait types, e.g. "{+.+.}-{3:3}".
	Decor map[string]string
}

// Blocked is one task blocked when execution stopped.
type Blocked struct {
	Task    string `json:"task"`
	Context string `json:"context,omitempty"`
	// Waits is the blocking step; Holds every lock and signalling section
	// the task holds, outermost first, each at the step that took it.
	Waits Step   `json:"waits"`
	Holds []Step `json:"holds,omitempty"`
}

// Sort orders diagnostics by file, position, rule and message so that output
// never depends on map iteration or goroutine scheduling.
func Sort(ds []Diagnostic) {
	sort.SliceStable(ds, func(i, j int) bool {
		a, b := ds[i], ds[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Pos != b.Pos {
			return a.Pos.Less(b.Pos)
		}
		if a.Rule != b.Rule {
			return a.Rule < b.Rule
		}
		return a.Message < b.Message
	})
}

// Dedupe removes exact repeats (same file, position, rule, message) from a
// sorted slice.
func Dedupe(ds []Diagnostic) []Diagnostic {
	out := ds[:0]
	for i, d := range ds {
		if i > 0 {
			p := out[len(out)-1]
			if p.File == d.File && p.Pos == d.Pos && p.Rule == d.Rule && p.Message == d.Message {
				continue
			}
		}
		out = append(out, d)
	}
	return out
}
