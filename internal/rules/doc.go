package rules

import (
	"fmt"
	"strings"
)

// kernelRulesFromDocs is docs/kernel-rules.md as linked from docs/rules.md.
const kernelRulesFromDocs = "kernel-rules.md"

// Markdown renders the catalog as docs/rules.md. A test keeps the file equal
// to this output, so the docs cannot drift from the catalog.
func Markdown() string {
	var b strings.Builder
	b.WriteString("# fencecheck rules\n\n")
	b.WriteString("Every diagnostic fencecheck prints carries one of these IDs. `fencecheck rules`\n")
	b.WriteString("lists them and `fencecheck explain ID` prints one. R-, C- and K-numbers are the\n")
	b.WriteString("kernel rules, canonical cycles and kernel facts of [kernel-rules.md](kernel-rules.md),\n")
	b.WriteString("which gives the kernel source of each (see also [model.md](model.md)).\n\n")
	b.WriteString("This file is generated from `internal/rules/catalog.go`; `go test ./...` fails if\n")
	b.WriteString("they differ (regenerate with `go test ./internal/rules -update`).\n\n")
	b.WriteString("| ID | name | severity | category | summary |\n|---|---|---|---|---|\n")
	for _, r := range All() {
		fmt.Fprintf(&b, "| [%s](#%s) | `%s` | %s | %s | %s |\n", r.ID, strings.ToLower(r.ID), r.Name, r.Severity, r.Category, r.Summary)
	}
	for _, r := range All() {
		fmt.Fprintf(&b, "\n## %s\n\n**%s** — %s, %s.\n\n%s\n\n%s\n\n**Fix.** %s\n", r.ID, r.Name, r.Severity, r.Category,
			LinkKernelRules(r.Summary, kernelRulesFromDocs), LinkKernelRules(r.Doc, kernelRulesFromDocs), LinkKernelRules(r.Fix, kernelRulesFromDocs))
	}
	return b.String()
}
