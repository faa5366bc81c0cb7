package importer

import (
	"fmt"
	"strings"

	"github.com/fencecheck/fencecheck/internal/lockdepproc"
	"github.com/fencecheck/fencecheck/internal/model"
)

// baseKind is a /proc/lockdep class's kind. /proc/lockdep prints no wait
// type and no acquiring function, so little is known: a class used in
// hardirq context ('-' or '?' first in get_usage_chars, or held in a
// hardirq chain) spins with interrupts disabled; names that say mutex or
// rwsem are taken at their word; everything else is a lockdep map, which
// fencecheck checks for ordering only.
func baseKind(c *lockdepproc.Class) (kind string, irqSafe bool) {
	if strings.ContainsAny(c.Usage[:min(1, len(c.Usage))], "-?") || c.HardIRQ {
		return "spinlock", true
	}
	low := strings.ToLower(c.Name)
	switch {
	case strings.Contains(low, "mutex"):
		return "mutex", false
	case strings.Contains(low, "rwsem"):
		return "rwsem", false
	}
	return "map", false
}

// WriteBase renders a parsed /proc/lockdep as a base scenario: every class
// a lock (in fencecheck's spelling, see names.go), every direct dependency
// an observed: fact.
func WriteBase(db *lockdepproc.DB, name string) string {
	var b strings.Builder
	b.Grow(64 * (len(db.Classes) + db.Deps()))
	fmt.Fprintf(&b, "# A base written by `fencecheck import lockdep` from /proc/lockdep: %d lock classes,\n", len(db.Classes))
	fmt.Fprintf(&b, "# %d direct dependencies", db.Deps())
	if db.Chains > 0 {
		fmt.Fprintf(&b, ", irq contexts from %d chains of /proc/lockdep_chains", db.Chains)
	}
	b.WriteString(".\n# Include it from a scenario with `base: FILE`; its dependencies are reported as\n")
	b.WriteString("# \"observed by lockdep\". Kinds are guessed (see docs/import.md): /proc/lockdep prints\n")
	b.WriteString("# neither wait types nor acquiring functions, so most classes are lockdep maps.\n")
	var renamed []string
	names := make([]string, len(db.Classes))
	for i := range db.Classes {
		n, ok := FencecheckName(db.Classes[i].Name)
		names[i] = n
		if ok {
			renamed = append(renamed, db.Classes[i].Name+" = "+n)
		}
	}
	if len(renamed) > 0 {
		b.WriteString("# Spelled as fencecheck's built-ins: " + comment(strings.Join(renamed, ", ")) + "\n")
	}
	b.WriteString("fencecheck: 1\n")
	fmt.Fprintf(&b, "name: %s\n", q(name))
	declared := map[string]bool{}
	first := true
	for i := range db.Classes {
		n := names[i]
		if model.IsBuiltin(n) || declared[n] || n == "" {
			continue
		}
		declared[n] = true
		if first {
			b.WriteString("\nlocks:\n")
			first = false
		}
		kind, irq := baseKind(&db.Classes[i])
		if irq {
			fmt.Fprintf(&b, "  - {name: %s, kind: %s, irq_safe: true}\n", q(n), kind)
		} else {
			fmt.Fprintf(&b, "  - {name: %s, kind: %s}\n", q(n), kind)
		}
	}
	first = true
	for i := range db.Classes {
		c := &db.Classes[i]
		if len(c.After) == 0 || names[i] == "" {
			continue
		}
		var tos []string
		for _, t := range c.After {
			if names[t] != names[i] && names[t] != "" { // a subclass or rename collapsed onto itself
				tos = append(tos, q(names[t]))
			}
		}
		if len(tos) == 0 {
			continue
		}
		if first {
			b.WriteString("\nobserved:\n")
			first = false
		}
		fmt.Fprintf(&b, "  - {from: %s, to: [%s]}\n", q(names[i]), strings.Join(tos, ", "))
	}
	return b.String()
}
