package rules

import (
	"fmt"
	"strings"
)

// Markdown renders the catalog as docs/rules.md. A test keeps the file equal
// to this output, so the docs cannot drift from the catalog.
func Markdown() string {
	var b strings.Builder
	b.WriteString("# fencecheck rules\n\n")
	b.WriteString("Every diagnostic fencecheck prints carries one of these IDs. `fencecheck rules`\n")
	b.WriteString("lists them and `fencecheck explain ID` prints one. R- and C-numbers refer to the\n")
	b.WriteString("kernel rules and canonical cycles of the primer that fencecheck's model is built on\n")
	b.WriteString("(see docs/model.md).\n\n")
	b.WriteString("This file is generated from `internal/rules/catalog.go`; `go test ./...` fails if\n")
	b.WriteString("they differ (regenerate with `go test ./internal/rules -update`).\n\n")
	b.WriteString("| ID | name | severity | category | summary |\n|---|---|---|---|---|\n")
	for _, r := range All() {
		fmt.Fprintf(&b, "| [%s](#%s) | `%s` | %s | %s | %s |\n", r.ID, strings.ToLower(r.ID), r.Name, r.Severity, r.Category, r.Summary)
	}
	for _, r := range All() {
		fmt.Fprintf(&b, "\n## %s\n\n**%s** — %s, %s.\n\n%s\n\n%s\n\n**Fix.** %s\n", r.ID, r.Name, r.Severity, r.Category, r.Summary, r.Doc, r.Fix)
	}
	return b.String()
}
