package model

import (
	"fmt"
	"strings"
)

// ReferenceMarkdown renders every mapping of the format and its keys, from
// the same struct tags the loader and the schema use. docs/scenario-format.md
// embeds it between markers; a test keeps the copy current.
func ReferenceMarkdown() string {
	order, fields := Reference()
	var b strings.Builder
	for _, name := range order {
		fmt.Fprintf(&b, "\n### `%s`\n\n| key | type | required | meaning |\n|---|---|---|---|\n", name)
		for _, f := range fields[name] {
			req := ""
			if f.Required {
				req = "yes"
			}
			key := "`" + f.Key + "`"
			if f.Op {
				key += " (op)"
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", key, f.Type, req, strings.ReplaceAll(f.Doc, "|", "\\|"))
		}
	}
	b.WriteString(gfpReference())
	return b.String()
}

// gfpReference lists every GFP token the loader accepts (include/linux/gfp_types.h)
// with what it means to the model on its own; an expression's bits are the
// union of its tokens' (K11).
func gfpReference() string {
	var b strings.Builder
	b.WriteString("\n### GFP flags\n\nAccepted in `alloc:` and combined with `|`; the model looks at the union of the bits.\n\n| flag | direct reclaim | `__GFP_FS` | on its own, the model |\n|---|---|---|---|\n")
	for _, tok := range GFPTokens() {
		bits := gfpFlags[tok]
		yes := func(m uint32) string {
			if bits&m != 0 {
				return "yes"
			}
			return ""
		}
		var eff string
		switch {
		case bits&GFPNoLockdep != 0:
			eff = "suppresses the reclaim annotation (`__GFP_NOLOCKDEP`)"
		case bits&GFPDirectReclaim != 0 && bits&GFPFS != 0:
			eff = "acquires `fs_reclaim` (may enter direct reclaim, R3)"
		case bits&GFPDirectReclaim != 0:
			eff = "touches `mmu_notifier_invalidate_range_start` (reclaim without FS, v5.11+)"
		case bits&(GFPKswapdReclaim|GFPHigh|GFPIO|GFPFS) != 0:
			eff = "no reclaim annotation (never direct-reclaims)"
		default:
			eff = "modifier: no effect on reclaim"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", tok, yes(GFPDirectReclaim), yes(GFPFS), eff)
	}
	return b.String()
}
