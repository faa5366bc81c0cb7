package importer

import (
	"fmt"
	"strconv"
	"strings"
)

// The scenario writer renders a small document model as YAML text by hand:
// the output needs comments in exact places (the report's frames next to
// the step they explain), which yaml.v3's encoder cannot place.

type step struct {
	key, val string
	mods     [][2]string
	comment  string
}

type pathDecl struct {
	name, context, thread string
	comments              []string
	steps                 []step
}

type lockDecl struct {
	name, kind, comment string
}

type doc struct {
	header    []string
	title     string
	version   string // kernel profile ("" when the report names none)
	locks     []lockDecl
	fences    []string
	shrinkers [][2]string // name, scan path
	paths     []pathDecl
	expect    []string // rendered lines
	trailer   []string // comments at the end
}

// plain matches YAML plain scalars that need no quoting.
func plain(s string) bool {
	if s == "" || s == "true" || s == "false" || s == "null" || s == "yes" || s == "no" || s == "on" || s == "off" || s == "~" {
		return false
	}
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c == '.' || c == '-' && i > 0 || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// q quotes a scalar when YAML needs it. strconv.Quote's escapes (\", \\,
// \n, \t, \xNN, \uNNNN) are valid YAML double-quoted escapes.
func q(s string) string {
	if plain(s) {
		return s
	}
	return strconv.Quote(s)
}

// comment makes text safe for a YAML comment: one line, printable.
func comment(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0 || r == 0x2028 || r == 0x2029 || r == 0xfeff {
			b.WriteByte('?')
			continue
		}
		b.WriteRune(r)
	}
	return strings.TrimRight(b.String(), " ")
}

func (d *doc) render() string {
	var b strings.Builder
	for _, h := range d.header {
		if h == "" {
			b.WriteString("#\n")
			continue
		}
		fmt.Fprintf(&b, "# %s\n", comment(h))
	}
	b.WriteString("fencecheck: 1\n")
	fmt.Fprintf(&b, "name: %s\n", q(d.title))
	if d.version != "" {
		fmt.Fprintf(&b, "kernel: {version: %q}\n", d.version)
	}
	if len(d.locks) > 0 {
		b.WriteString("\nlocks:\n")
		for _, l := range d.locks {
			fmt.Fprintf(&b, "  - {name: %s, kind: %s}", q(l.name), l.kind)
			if l.comment != "" {
				fmt.Fprintf(&b, "  # %s", comment(l.comment))
			}
			b.WriteByte('\n')
		}
	}
	if len(d.fences) > 0 {
		b.WriteString("\nfences:\n")
		for _, f := range d.fences {
			fmt.Fprintf(&b, "  - {name: %s}\n", q(f))
		}
	}
	if len(d.shrinkers) > 0 {
		b.WriteString("\nshrinkers:\n")
		for _, s := range d.shrinkers {
			fmt.Fprintf(&b, "  - {name: %s, scan: %s}\n", q(s[0]), q(s[1]))
		}
	}
	if len(d.paths) > 0 {
		b.WriteString("\npaths:\n")
		for _, p := range d.paths {
			for _, c := range p.comments {
				fmt.Fprintf(&b, "  # %s\n", comment(c))
			}
			fmt.Fprintf(&b, "  - name: %s\n    context: %s\n", q(p.name), p.context)
			if p.thread != "" {
				fmt.Fprintf(&b, "    thread: %s\n", q(p.thread))
			}
			b.WriteString("    steps:\n")
			for _, s := range p.steps {
				fmt.Fprintf(&b, "      - %s: %s", s.key, q(s.val))
				pad := "        "
				if s.comment != "" {
					fmt.Fprintf(&b, "  # %s", comment(s.comment))
				}
				b.WriteByte('\n')
				for _, m := range s.mods {
					v := q(m[1])
					if _, err := strconv.Atoi(m[1]); err == nil {
						v = m[1] // integer modifiers (subclass)
					}
					fmt.Fprintf(&b, "%s%s: %s\n", pad, m[0], v)
				}
			}
		}
	}
	if len(d.expect) > 0 {
		b.WriteString("\nexpect:\n")
		for _, l := range d.expect {
			b.WriteString(l + "\n")
		}
	}
	if len(d.trailer) > 0 {
		b.WriteByte('\n')
		for _, t := range d.trailer {
			fmt.Fprintf(&b, "# %s\n", comment(t))
		}
	}
	return b.String()
}
