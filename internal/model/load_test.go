package model_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"

	"github.com/fencecheck/fencecheck/internal/diag"
	"github.com/fencecheck/fencecheck/internal/model"
	"github.com/fencecheck/fencecheck/internal/rules"
)

var update = flag.Bool("update", false, "rewrite golden files")

func render(ds []diag.Diagnostic) string {
	var b strings.Builder
	for _, d := range ds {
		fmt.Fprintf(&b, "%s:%d:%d: %s [%s]\n", filepath.Base(d.File), d.Pos.Line, d.Pos.Col, d.Message, d.Rule)
	}
	return b.String()
}

// TestLintGolden pins the loader's diagnostics for one file per error kind.
// Goldens were reviewed by hand; regenerate with -update only after reading
// the diff.
func TestLintGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/lint/*.yaml")
	if len(files) < 15 {
		t.Fatalf("expected the lint corpus, found %d files", len(files))
	}
	seenRules := map[string]bool{}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			_, ds := model.Load(f, data, model.Options{})
			if len(ds) == 0 {
				t.Fatalf("%s: expected diagnostics, got none", f)
			}
			for _, d := range ds {
				seenRules[d.Rule] = true
				if d.Pos.Line < 1 || d.Pos.Col < 1 {
					t.Errorf("diagnostic without a position: %+v", d)
				}
			}
			got := render(ds)
			golden := strings.TrimSuffix(f, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("missing golden (run with -update and review): %v", err)
			}
			if got != string(want) {
				t.Errorf("diagnostics differ from %s\n--- got\n%s--- want\n%s", golden, got, want)
			}
		})
	}
	for _, r := range rules.All() {
		if r.Category == "lint" && r.ID != rules.ExpectMismatch && !seenRules[r.ID] {
			t.Errorf("no golden covers lint rule %s (%s)", r.ID, r.Name)
		}
	}
}

func scenarioFiles(t *testing.T) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir("../../scenarios", func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".yaml") {
			out = append(out, p)
		}
		return err
	})
	if err != nil || len(out) < 3 {
		t.Fatalf("scenario library missing: %v (%d files)", err, len(out))
	}
	sort.Strings(out)
	return out
}

func TestScenariosLoadClean(t *testing.T) {
	for _, f := range scenarioFiles(t) {
		data, _ := os.ReadFile(f)
		sc, ds := model.Load(f, data, model.Options{})
		if sc == nil || len(ds) > 0 {
			t.Errorf("%s: %s", f, render(ds))
		}
	}
}

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	var doc any
	if err := json.Unmarshal(model.Schema(), &doc); err != nil {
		t.Fatalf("schema is not JSON: %v", err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(model.SchemaID, doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(model.SchemaID)
	if err != nil {
		t.Fatalf("schema does not compile as draft 2020-12: %v", err)
	}
	return s
}

// yamlToJSON converts a scenario to the JSON value a YAML language server
// would validate.
func yamlToJSON(t *testing.T, data []byte) (any, bool) {
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		return nil, false
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, false
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, false
	}
	return out, true
}

// TestSchemaAgreesWithLoader: every valid scenario validates against the
// published schema, and structurally invalid files are rejected by both.
func TestSchemaAgreesWithLoader(t *testing.T) {
	s := compileSchema(t)
	for _, f := range scenarioFiles(t) {
		data, _ := os.ReadFile(f)
		v, ok := yamlToJSON(t, data)
		if !ok {
			t.Fatalf("%s: not convertible to JSON", f)
		}
		if err := s.Validate(v); err != nil {
			t.Errorf("%s: loader accepts it but the schema rejects it: %v", f, err)
		}
	}
	// Structural errors the schema can express (references and duplicate
	// keys are beyond JSON Schema; lint checks them).
	structural := []string{"unknown-key.yaml", "wrong-type.yaml", "missing-field.yaml", "invalid-value.yaml",
		"version-missing.yaml", "version-unsupported.yaml", "not-a-mapping.yaml"}
	for _, name := range structural {
		data, err := os.ReadFile(filepath.Join("testdata/lint", name))
		if err != nil {
			t.Fatal(err)
		}
		_, ds := model.Load(name, data, model.Options{})
		if len(ds) == 0 {
			t.Errorf("%s: loader accepts it", name)
		}
		v, ok := yamlToJSON(t, data)
		if !ok {
			continue
		}
		if err := s.Validate(v); err == nil {
			t.Errorf("%s: loader rejects it but the schema accepts it", name)
		}
	}
	// Each step operation alone is valid for the schema; two are not.
	two := map[string]any{"fencecheck": 1, "paths": []any{map[string]any{"name": "p", "context": "ioctl",
		"steps": []any{map[string]any{"lock": "A", "unlock": "A"}}}}}
	if err := s.Validate(two); err == nil {
		t.Error("schema accepts a step with two operations")
	}
}

var lineRe = regexp.MustCompile(`(?m)^`)

// mutate applies one edit to a copy of a scenario and returns the new file
// and the position the error must point at.
type mutation struct {
	name string
	rule string
	// apply returns the mutated text and expected 1-based line and column,
	// or ok=false if the file has nothing to mutate.
	apply func(lines []string) (out []string, line, col int, ok bool)
}

func findLine(lines []string, re *regexp.Regexp) (int, []int) {
	for i, l := range lines {
		if m := re.FindStringSubmatchIndex(l); m != nil {
			return i, m
		}
	}
	return -1, nil
}

var mutations = []mutation{
	{"unknown key", rules.UnknownKey, func(lines []string) ([]string, int, int, bool) {
		i, _ := findLine(lines, regexp.MustCompile(`^fencecheck: 1`))
		if i < 0 {
			return nil, 0, 0, false
		}
		out := append(append(append([]string{}, lines[:i+1]...), "bogus_key: 1"), lines[i+1:]...)
		return out, i + 2, 1, true
	}},
	{"duplicate key", rules.DuplicateKey, func(lines []string) ([]string, int, int, bool) {
		i, _ := findLine(lines, regexp.MustCompile(`^name: `))
		if i < 0 {
			return nil, 0, 0, false
		}
		out := append(append(append([]string{}, lines[:i+1]...), "name: again"), lines[i+1:]...)
		return out, i + 2, 1, true
	}},
	{"undeclared lock", rules.UndefinedRef, func(lines []string) ([]string, int, int, bool) {
		re := regexp.MustCompile(`^(\s*- lock: )(.+)$`)
		i, m := findLine(lines, re)
		if i < 0 {
			return nil, 0, 0, false
		}
		out := append([]string{}, lines...)
		out[i] = lines[i][:m[3]] + "no_such_lock_zz"
		return out, i + 1, m[3] + 1, true
	}},
	{"invalid GFP flag", rules.InvalidValue, func(lines []string) ([]string, int, int, bool) {
		re := regexp.MustCompile(`^(\s*- alloc: )(\S+)`)
		i, m := findLine(lines, re)
		if i < 0 {
			return nil, 0, 0, false
		}
		out := append([]string{}, lines...)
		out[i] = lines[i][:m[3]] + "GFP_BOGUS"
		return out, i + 1, m[3] + 1, true
	}},
}

// TestMutationsPointAtTheEdit applies each mutation to every bundled
// scenario that has a place for it and checks the error names the edited
// line and column.
func TestMutationsPointAtTheEdit(t *testing.T) {
	for _, mu := range mutations {
		applied := 0
		for _, f := range scenarioFiles(t) {
			data, _ := os.ReadFile(f)
			lines := strings.Split(string(data), "\n")
			out, line, col, ok := mu.apply(lines)
			if !ok {
				continue
			}
			applied++
			_, ds := model.Load(f, []byte(strings.Join(out, "\n")), model.Options{})
			found := false
			for _, d := range ds {
				if d.Rule == mu.rule && d.Pos.Line == line && d.Pos.Col == col {
					found = true
				}
			}
			if !found {
				t.Errorf("%s in %s: want %s at %d:%d, got:\n%s", mu.name, f, mu.rule, line, col, render(ds))
			}
		}
		if applied < 3 {
			t.Errorf("%s: applied to only %d scenarios", mu.name, applied)
		}
	}
}

// TestHostileInputs: each gives a clear error, never a panic.
func TestHostileInputs(t *testing.T) {
	bomb := "fencecheck: 1\na: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
	prev := "a"
	for _, n := range []string{"b", "c", "d", "e", "f", "g", "h", "i"} {
		bomb += n + ": &" + n + " [" + strings.Repeat("*"+prev+",", 8) + "*" + prev + "]\n"
		prev = n
	}
	bomb += "locks: *i\n"
	cases := []struct {
		name, data string
		rule       string
	}{
		{"billion laughs", bomb, rules.YAMLAlias},
		{"recursive alias", "fencecheck: 1\nlocks: &x [*x]\n", rules.YAMLAlias},
		{"deep nesting", "fencecheck: 1\nname: " + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + "\n", rules.YAMLSyntax},
		// 200 levels under a key the format does not define: reported once,
		// never walked (see TestDeepNestingIsNotWalked).
		{"deep mappings", "fencecheck: 1\nkernel:\n" + deepMap(200), rules.UnknownKey},
		{"random bytes", "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", rules.YAMLSyntax},
		{"empty", "", rules.Version},
		{"only comments", "# nothing here\n", rules.Version},
		{"two documents", "fencecheck: 1\n---\nfencecheck: 1\n", rules.InputLimit},
		{"huge", "fencecheck: 1\nname: " + strings.Repeat("x", 1<<20) + "\n", rules.InputLimit},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			opt := model.Options{}
			if c.name == "huge" {
				opt.MaxBytes = 1 << 19
			}
			_, ds := model.Load(c.name, []byte(c.data), opt)
			ok := false
			for _, d := range ds {
				if d.Rule == c.rule {
					ok = true
				}
			}
			if !ok {
				t.Errorf("want %s, got:\n%s", c.rule, render(ds))
			}
		})
	}
}

func deepMap(n int) string {
	var b bytes.Buffer
	for i := 0; i < n; i++ {
		b.WriteString(strings.Repeat(" ", i+1) + "k:\n")
	}
	return b.String()
}

// FuzzLoad: the loader never panics and every diagnostic is positioned.
func FuzzLoad(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/lint/*.yaml")
	more, _ := filepath.Glob("../../scenarios/*/*.yaml")
	hostile, _ := filepath.Glob("testdata/hostile/*.yaml") // CI-gate attacks (docs/security.md)
	for _, p := range append(append(seeds, more...), hostile...) {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, ds := model.Load("fuzz.yaml", data, model.Options{MaxBytes: 1 << 16})
		for _, d := range ds {
			if d.Pos.Line < 1 || d.Pos.Col < 1 || d.Rule == "" || d.Message == "" {
				t.Fatalf("bad diagnostic %+v", d)
			}
			if strings.Contains(d.Message, "internal error") {
				t.Fatalf("loader panicked: %s", d.Message)
			}
		}
	})
}

var _ = lineRe

// TestCIGateAttacks: each CI-gate attack file is refused at its position,
// in time linear in its size (the call bomb expands to 10^7 steps).
func TestCIGateAttacks(t *testing.T) {
	want := map[string][]string{
		"control-name.yaml":  {"3:12: name: name \"A\\n::error", "4:12: name: name \"\\x1b]0;pwned\\a\" contains the control character U+001B"},
		"call-bomb.yaml":     {"11:12: the paths expand to more than 1000000 steps after call: inlining (path \"p6\" alone: more than 1000000)"},
		"bad-integers.yaml":  {"5:79: count: -5 is too small (at least 1)", "5:112: count: integer 99999999999999999999 is out of range"},
		"dot-injection.yaml": nil, // a printable name is a name; the writers quote it
	}
	for f, msgs := range want {
		data, err := os.ReadFile("testdata/hostile/" + f)
		if err != nil {
			t.Fatal(err)
		}
		_, ds := model.Load(f, data, model.Options{})
		var got []string
		for _, d := range ds {
			got = append(got, fmt.Sprintf("%s: %s", d.Pos, d.Message))
		}
		all := strings.Join(got, "\n")
		if len(msgs) == 0 && len(ds) > 0 {
			t.Errorf("%s: unexpected diagnostics:\n%s", f, all)
		}
		for _, m := range msgs {
			if !strings.Contains(all, m) {
				t.Errorf("%s: want %q in:\n%s", f, m, all)
			}
		}
	}
}

// TestSelftestDoubleUnlock: the double-unlock cases of the kernel's
// locking-selftest.c (ported by tools/selftestgen) are lint errors by
// design — lockdep's "bad unlock balance" — pointing at the second unlock.
func TestSelftestDoubleUnlock(t *testing.T) {
	files, _ := filepath.Glob("testdata/selftest/double-unlock-*.yaml")
	if len(files) != 7 {
		t.Fatalf("want the 7 double-unlock cases, found %d", len(files))
	}
	for _, f := range files {
		data, _ := os.ReadFile(f)
		_, ds := model.Load(f, data, model.Options{})
		if len(ds) != 1 || ds[0].Rule != rules.BadStep || ds[0].Pos.Line != 14 {
			t.Errorf("%s: want one bad-step at the second unlock (line 14), got:\n%s", f, render(ds))
		}
	}
}

// TestDeepNestingIsNotWalked: the loader descends only into keys the format
// defines, so hostile nesting yields one diagnostic at its root, whatever
// its depth, and parsing beyond the YAML parser's own limit is a syntax
// error rather than a stack overflow.
func TestDeepNestingIsNotWalked(t *testing.T) {
	for _, depth := range []int{10, 200, 2000} {
		_, ds := model.Load("deep.yaml", []byte("fencecheck: 1\nkernel:\n"+deepMap(depth)), model.Options{})
		if len(ds) != 1 || ds[0].Rule != rules.UnknownKey || ds[0].Pos.Line != 3 {
			t.Errorf("depth %d: want one unknown-key at line 3, got:\n%s", depth, render(ds))
		}
	}
	_, ds := model.Load("deep.yaml", []byte("fencecheck: 1\nname: "+strings.Repeat("[", 20000)+strings.Repeat("]", 20000)+"\n"), model.Options{})
	if len(ds) != 1 || ds[0].Rule != rules.YAMLSyntax || !strings.Contains(ds[0].Message, "depth") {
		t.Errorf("20,000 levels: want the parser's depth error, got:\n%s", render(ds))
	}
}
