package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/fencecheck/fencecheck/internal/diag"
)

// FuzzWriters: untrusted strings in every field of a finding (names, file
// names, messages) through every format. JSON and SARIF must stay valid
// JSON that round-trips; text must carry no control byte and no line that
// starts with a workflow command; GitHub output is one command per finding.
func FuzzWriters(f *testing.F) {
	f.Add("a.yaml", "&vm->lock", "lock: &vm->lock", []byte("fencecheck: 1\n"))
	f.Add("::error file=x::y.yaml", "A\n::error file=.github/workflows/x.yml,line=1::ok", "\x1b]0;title\a\x1b[2J", []byte("x\n::warning::y\n"))
	f.Add("-", "\u202e", "%0A::error::", []byte{0xff, 0xfe, '\n'})
	f.Fuzz(func(t *testing.T, file, name, msg string, src []byte) {
		d := diag.Diagnostic{File: file, Pos: diag.Pos{Line: 1, Col: 1}, Rule: "FC001", Message: msg + " " + name,
			Cycle: []string{name, "b"}, ChainExists: name + " --> b", Hint: msg, Canonical: name,
			Scenario: []string{"  lock(" + name + ");"},
			Chain: []diag.Step{{File: file, Pos: diag.Pos{Line: 1, Col: 2}, From: name, To: "b", Kind: "lock", Path: name, Context: msg, Message: msg},
				{File: file, Pos: diag.Pos{}, From: "b", To: name, Message: name}}}
		// The lockdep splat, the blocked tasks of a hang and the related
		// findings are printed too: every string in them is untrusted.
		st := diag.Step{File: file, Pos: diag.Pos{Line: 3, Col: 1}, To: name, Path: name, Context: msg, Message: msg}
		d.Splat = &diag.Splat{Kernel: "6.8", Task: name, Acquire: st, Holding: st, Held: []diag.Step{st}, HeldKnown: true,
			Decor: map[string]string{name: msg}}
		other := d
		other.Rule, other.Splat = "FC015", &diag.Splat{Kernel: "6.8", Task: name, Title: msg, Bar: 10, Body: []string{name, msg}, Held: []diag.Step{st}, HeldKnown: true}
		hang := diag.Diagnostic{File: file, Pos: diag.Pos{Line: 4, Col: 1}, Rule: "FC003", Message: msg, Chain: []diag.Step{st},
			Blocked: []diag.Blocked{{Task: name, Context: msg, Waits: st, Holds: []diag.Step{st}}}}
		d.Related = []diag.Diagnostic{hang, other}
		lint := diag.Diagnostic{File: file, Pos: diag.Pos{Line: 2, Col: 1}, Rule: "FC-L002", Message: msg}
		results := []FileResult{{Path: file, Source: src, Diags: []diag.Diagnostic{d, other, hang, lint}, Scenario: true}}
		for _, format := range Formats {
			var b bytes.Buffer
			if err := Write(&b, format, results, Options{Baseline: &BaselineStats{}}); err != nil {
				t.Fatalf("%s: %v", format, err)
			}
			out := b.String()
			switch format {
			case "json", "sarif":
				var v any
				if err := json.Unmarshal(b.Bytes(), &v); err != nil {
					t.Fatalf("%s is not JSON: %v", format, err)
				}
			case "github":
				lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
				if len(lines) != 4 {
					t.Fatalf("github: %d lines for 4 findings:\n%q", len(lines), out)
				}
				for _, l := range lines {
					if !strings.HasPrefix(l, "::error file=") {
						t.Fatalf("github line not ours: %q", l)
					}
				}
				noControl(t, format, out)
			case "text":
				for _, l := range strings.Split(out, "\n") {
					if strings.HasPrefix(strings.TrimLeft(l, " \t"), "::") {
						t.Fatalf("text line starts a workflow command: %q", l)
					}
				}
				noControl(t, format, out)
			}
		}
	})
}

func noControl(t *testing.T, format, out string) {
	t.Helper()
	for _, r := range out {
		if r < 0x20 && r != '\n' && r != '\t' || r == 0x7f || r >= 0x80 && r <= 0x9f || r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 {
			t.Fatalf("%s output carries %U:\n%q", format, r, out)
		}
	}
}
