package cli

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/fencecheck/fencecheck/internal/report"
)

var update = flag.Bool("update", false, "rewrite golden files (review the diff before committing)")

// goldenRuns pin every output format on the seed design. The goldens were
// reviewed by reading them: the chain, the positions and the fix text.
var goldenRuns = []struct {
	name string
	args []string
}{
	{"check-precise.txt", []string{"check", "--color", "never", "scenarios/seeds/01-userptr-cross-device.yaml"}},
	{"check-lockdep.txt", []string{"check", "--color", "never", "--mode", "lockdep", "scenarios/cases/02-i915-error-capture.yaml"}},
	{"check-precise.json", []string{"check", "--format", "json", "scenarios/seeds/01-userptr-cross-device.yaml"}},
	{"check-precise.sarif", []string{"check", "--format", "sarif", "scenarios/seeds/01-userptr-cross-device.yaml"}},
	{"check-precise.github", []string{"check", "--format", "github", "scenarios/seeds/01-userptr-cross-device.yaml"}},
	{"graph-cycles.dot", []string{"graph", "--cycles", "scenarios/seeds/01-userptr-cross-device.yaml"}},
	{"graph-lockdep.dot", []string{"graph", "--mode", "lockdep", "scenarios/cases/05-msm-shrinker-ww-acquire.yaml"}},
	{"lint.txt", []string{"lint", "--color", "never", "internal/model/testdata/lint/undefined-ref.yaml"}},
}

func TestGoldenOutputs(t *testing.T) {
	t.Chdir("../..")
	for _, g := range goldenRuns {
		t.Run(g.name, func(t *testing.T) {
			_, out, errOut := run(t, "", g.args...)
			path := filepath.Join("internal/cli/testdata/golden", g.name)
			// What check says on stderr (the exploration's coverage) is
			// pinned too, in NAME.stderr when there is any.
			if *update {
				if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
					t.Fatal(err)
				}
				os.Remove(path + ".stderr")
				if errOut != "" {
					if err := os.WriteFile(path+".stderr", []byte(errOut), 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}
			wantErr, _ := os.ReadFile(path + ".stderr")
			if errOut != string(wantErr) {
				t.Errorf("%s: stderr %q, golden %q", g.name, errOut, wantErr)
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("missing golden; run go test ./internal/cli -run Golden -update and review: %v", err)
			}
			if out != string(want) {
				t.Errorf("%s differs from its golden:\n%s", g.name, out)
			}
		})
	}
}

// TestSARIFValidates checks the SARIF output of the whole library against
// the OASIS SARIF 2.1.0 schema.
func TestSARIFValidates(t *testing.T) {
	t.Chdir("../..")
	raw, err := os.ReadFile("internal/report/testdata/sarif-schema-2.1.0.json")
	if err != nil {
		t.Fatal(err)
	}
	var schemaDoc any
	if err := json.Unmarshal(raw, &schemaDoc); err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	const id = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
	if err := c.AddResource(id, schemaDoc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(id)
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"check", "--format", "sarif", "scenarios/"},
		{"lint", "--format", "sarif", "internal/model/testdata/lint/"},
	} {
		_, out, _ := run(t, "", args...)
		var doc any
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatalf("%v: not JSON: %v", args, err)
		}
		if err := sch.Validate(doc); err != nil {
			t.Errorf("%v: SARIF does not validate against 2.1.0: %v", args, err)
		}
		// GitHub code scanning needs these on every result.
		var log struct {
			Runs []struct {
				Results []struct {
					RuleID              string            `json:"ruleId"`
					PartialFingerprints map[string]string `json:"partialFingerprints"`
					Locations           []any             `json:"locations"`
				} `json:"results"`
			} `json:"runs"`
		}
		_ = json.Unmarshal([]byte(out), &log)
		if len(log.Runs) != 1 || len(log.Runs[0].Results) == 0 {
			t.Fatalf("%v: no results", args)
		}
		for _, r := range log.Runs[0].Results {
			if r.RuleID == "" || r.PartialFingerprints[report.FingerprintKey] == "" || len(r.Locations) != 1 {
				t.Errorf("%v: result lacks what code scanning needs: %+v", args, r)
			}
		}
	}
}

// TestDOTRenders feeds the DOT export of every scenario to Graphviz. CI
// installs graphviz (.ci/run); without it this test fails rather than
// silently passing.
func TestDOTRenders(t *testing.T) {
	t.Chdir("../..")
	dot, err := exec.LookPath("dot")
	if err != nil {
		t.Fatal("graphviz 'dot' not found: install graphviz (apt-get install graphviz); .ci/run does")
	}
	files, _ := filepath.Glob("scenarios/*/*.yaml")
	for _, f := range files {
		for _, extra := range [][]string{{}, {"--cycles"}, {"--mode", "lockdep"}} {
			args := append([]string{"graph"}, extra...)
			code, out, errOut := run(t, "", append(args, f)...)
			if code != ExitOK {
				t.Fatalf("%s %v: exit %d %s", f, extra, code, errOut)
			}
			cmd := exec.Command(dot, "-Tsvg")
			cmd.Stdin = bytes.NewReader([]byte(out))
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			svg, err := cmd.Output()
			if err != nil || !bytes.Contains(svg, []byte("<svg")) {
				t.Errorf("%s %v: dot -Tsvg failed: %v %s", f, extra, err, stderr.String())
			}
		}
	}
}

// TestHostileNamesAreEscaped: names from the scenario reach DOT, JSON and
// SARIF escaped — quotes, braces, newlines, arrows and non-ASCII.
func TestHostileNamesAreEscaped(t *testing.T) {
	src := `fencecheck: 1
locks:
  - {name: "a\"b{c}", kind: mutex}
  - {name: "x -> y; digraph z {", kind: mutex}
  - {name: "é€ <html>&", kind: mutex}
paths:
  - {name: p1, context: ioctl, steps: [{lock: "a\"b{c}"}, {lock: "x -> y; digraph z {"}, {unlock: "x -> y; digraph z {"}, {unlock: "a\"b{c}"}]}
  - {name: p2, context: ioctl, steps: [{lock: "x -> y; digraph z {"}, {lock: "é€ <html>&"}, {unlock: "é€ <html>&"}, {unlock: "x -> y; digraph z {"}]}
  - {name: p3, context: ioctl, steps: [{lock: "é€ <html>&"}, {lock: "a\"b{c}"}, {unlock: "a\"b{c}"}, {unlock: "é€ <html>&"}]}
`
	code, out, errOut := run(t, src, "graph", "-")
	if code != ExitOK {
		t.Fatalf("graph: exit %d %s", code, errOut)
	}
	if dot, err := exec.LookPath("dot"); err == nil {
		cmd := exec.Command(dot, "-Tsvg")
		cmd.Stdin = bytes.NewReader([]byte(out))
		if svg, err := cmd.Output(); err != nil || !bytes.Contains(svg, []byte("<svg")) {
			t.Errorf("graphviz rejects the escaped DOT: %v\n%s", err, out)
		}
	} else {
		t.Fatal("graphviz 'dot' not found")
	}
	_, out, _ = run(t, src, "check", "--format", "json", "-")
	var rep struct {
		Files []struct{ Findings []struct{ Cycle []string } }
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("JSON does not parse: %v", err)
	}
	if len(rep.Files[0].Findings) == 0 || len(rep.Files[0].Findings[0].Cycle) != 3 {
		t.Fatalf("want the three-lock cycle, got %+v", rep)
	}
	names := map[string]bool{}
	for _, n := range rep.Files[0].Findings[0].Cycle {
		names[n] = true
	}
	for _, n := range []string{"a\"b{c}", "x -> y; digraph z {", "é€ <html>&"} {
		if !names[n] {
			t.Errorf("JSON lost the name %q: %v", n, rep.Files[0].Findings[0].Cycle)
		}
	}
	_, out, _ = run(t, src, "check", "--format", "sarif", "-")
	var doc any
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("SARIF does not parse: %v", err)
	}
}
