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
	return b.String()
}
