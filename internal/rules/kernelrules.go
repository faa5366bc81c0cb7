package rules

import (
	"regexp"
	"strconv"
	"strings"
)

// KernelRulesDoc is the repository path of the document that states every
// kernel fact (K1…), rule (R1…) and canonical cycle (C1…) the reports cite,
// each with its kernel source.
const KernelRulesDoc = "docs/kernel-rules.md"

// Number of entries of each kind in KernelRulesDoc. A test keeps these
// equal to the document's anchors.
const (
	kernelFacts  = 18 // K1–K18
	kernelRules  = 28 // R1–R28
	kernelCycles = 15 // C1–C15
)

// citationRE matches a citation of a kernel rule: K, R or C and a number,
// optionally followed by a sub-item letter (R8c cites R8).
var citationRE = regexp.MustCompile(`\b([KRC])([1-9][0-9]?)[a-z]?\b`)

// IsKernelRule reports whether id (e.g. "R17", "C5", "K11") names an entry
// of docs/kernel-rules.md.
func IsKernelRule(id string) bool {
	if len(id) < 2 {
		return false
	}
	n, err := strconv.Atoi(id[1:])
	if err != nil || n < 1 || strconv.Itoa(n) != id[1:] {
		return false
	}
	switch id[0] {
	case 'K':
		return n <= kernelFacts
	case 'R':
		return n <= kernelRules
	case 'C':
		return n <= kernelCycles
	}
	return false
}

// KernelRuleURL returns the repository-relative link to a kernel rule's
// entry, e.g. "docs/kernel-rules.md#r17", or "" when id names none. Report
// formats with a place for a link (SARIF helpUri, Markdown) use it.
func KernelRuleURL(id string) string {
	if !IsKernelRule(id) {
		return ""
	}
	return KernelRulesDoc + "#" + strings.ToLower(id)
}

// KernelCitations returns the kernel rule ids cited in text, in order of
// first appearance, without duplicates. Sub-items are folded into their rule
// (R8c → R8); ids that name no entry are returned too, so that callers and
// tests can tell a dangling citation from none.
func KernelCitations(text string) []string {
	var out []string
	seen := map[string]bool{}
	for _, m := range citationRE.FindAllStringSubmatch(text, -1) {
		id := m[1] + m[2]
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// LinkKernelRules rewrites every citation of a known kernel rule in
// Markdown text as a link to its entry; doc is the path of
// docs/kernel-rules.md relative to the Markdown file ("kernel-rules.md" from
// another file under docs/). Citations inside `code spans` are left alone.
func LinkKernelRules(text, doc string) string {
	parts := strings.Split(text, "`")
	for i := 0; i < len(parts); i += 2 { // even parts are outside code spans
		parts[i] = citationRE.ReplaceAllStringFunc(parts[i], func(s string) string {
			m := citationRE.FindStringSubmatch(s)
			id := m[1] + m[2]
			if !IsKernelRule(id) {
				return s
			}
			return "[" + s + "](" + doc + "#" + strings.ToLower(id) + ")"
		})
	}
	return strings.Join(parts, "`")
}
