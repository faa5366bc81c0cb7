package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/fencecheck/fencecheck/internal/diag"
	"github.com/fencecheck/fencecheck/internal/report"
	"github.com/fencecheck/fencecheck/internal/rules"
)

// Tests for docs/security.md: every reproduction of issue "Safe as a CI
// gate" with the exact behaviour (exit code, what is and is not written,
// the escaped bytes).

const abba = `fencecheck: 1
locks:
  - {name: "&a->lock", kind: mutex}
  - {name: "&b->lock", kind: mutex}
paths:
  - {name: p1, context: ioctl, steps: [{lock: "&a->lock"}, {lock: "&b->lock"}, {unlock: "&b->lock"}, {unlock: "&a->lock"}]}
  - {name: p2, context: ioctl, steps: [{lock: "&b->lock"}, {lock: "&a->lock"}, {unlock: "&a->lock"}, {unlock: "&b->lock"}]}
`

func write(t *testing.T, p, s string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// noForgedLines fails if any output line could be read by a terminal or a
// GitHub runner as more than text: a control byte, or a line that starts
// (after white space) with a workflow command.
func noForgedLines(t *testing.T, what, out string) {
	t.Helper()
	for i, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(strings.TrimLeft(line, " \t"), "::") {
			t.Errorf("%s: line %d is a workflow command: %q", what, i+1, line)
		}
		for _, r := range line {
			if r < 0x20 && r != '\t' || r == 0x7f || r >= 0x80 && r <= 0x9f || r == 0x202e {
				t.Errorf("%s: line %d carries control character %U: %q", what, i+1, r, line)
				break
			}
		}
	}
}

// 1. The same bug copied into a new file is a new finding; the path's
// spelling does not matter.
func TestBaselineIsPerFile(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	write(t, "a.yaml", abba)
	if code, _, e := run(t, "", "check", "--write-baseline", "b.txt", "a.yaml"); code != ExitFindings {
		t.Fatalf("write-baseline: exit %d %s", code, e)
	}
	for _, spelling := range []string{"a.yaml", "./a.yaml", filepath.Join(dir, "a.yaml"), "sub/../a.yaml"} {
		os.MkdirAll("sub", 0o755)
		code, out, e := run(t, "", "check", "--baseline", "b.txt", spelling)
		if code != ExitOK {
			t.Errorf("%s: baselined finding not suppressed: exit %d\n%s%s", spelling, code, out, e)
		}
		if !strings.Contains(out, "finding(s) suppressed by baseline, 0 baseline entries matched nothing") {
			t.Errorf("%s: no baseline summary:\n%s", spelling, out)
		}
	}
	write(t, "new.yaml", abba)
	code, out, _ := run(t, "", "check", "--baseline", "b.txt", "new.yaml")
	if code != ExitFindings || !strings.Contains(out, "new.yaml:") || !strings.Contains(out, "[FC001") {
		t.Errorf("copied design hidden by the old baseline: exit %d\n%s", code, out)
	}
	if !regexp.MustCompile(`0 finding\(s\) suppressed by baseline, [1-9]\d* baseline entr(y|ies) matched nothing`).MatchString(out) {
		t.Errorf("stale entries not reported:\n%s", out)
	}
	// From another working directory, --root names the same files.
	os.MkdirAll("elsewhere", 0o755)
	t.Chdir(filepath.Join(dir, "elsewhere"))
	if code, out, e := run(t, "", "check", "--root", "..", "--baseline", "../b.txt", "../a.yaml"); code != ExitOK {
		t.Errorf("--root: exit %d\n%s%s", code, out, e)
	}
	// SARIF says which results are new relative to the baseline.
	t.Chdir(dir)
	_, out, _ = run(t, "", "check", "--format", "sarif", "--baseline", "b.txt", "new.yaml")
	if !strings.Contains(out, `"baselineState": "new"`) || !strings.Contains(out, `"fencecheck/v1"`) {
		t.Errorf("SARIF lacks baselineState or the fencecheck/v1 fingerprint:\n%s", out)
	}
}

func TestBaselineValidated(t *testing.T) {
	dir := t.TempDir()
	p := write(t, filepath.Join(dir, "a.yaml"), abba)
	bad := write(t, filepath.Join(dir, "bad.txt"), "# ok\n0123456789abcdef\nnot-a-fingerprint\n")
	code, _, e := run(t, "", "check", "--baseline", bad, p)
	if code != ExitFatal || !strings.Contains(e, "bad.txt:3: not a fingerprint") {
		t.Errorf("invalid baseline entry: exit %d %q", code, e)
	}
	if _, err := os.Stat("/dev/zero"); err == nil {
		code, _, e = run(t, "", "check", "--baseline", "/dev/zero", p)
		if code != ExitFatal || !strings.Contains(e, "larger than") {
			t.Errorf("/dev/zero as baseline: exit %d %q", code, e)
		}
	}
}

// 2. A lock named to forge a workflow command, or to drive the terminal, is
// refused at its position; a file name doing the same is printed escaped.
func TestNamesCannotForgeOutput(t *testing.T) {
	for _, name := range []string{"A\\n::error file=.github/workflows/x.yml,line=1::ok", "\\e]0;pwned\\a", "x\\u202ey", "\\e[2J"} {
		src := fmt.Sprintf("fencecheck: 1\nlocks:\n  - {name: \"%s\", kind: mutex}\n", name)
		for _, f := range []string{"text", "github", "sarif", "json"} {
			code, out, _ := run(t, src, "lint", "--format", f, "-")
			if code != ExitFindings {
				t.Fatalf("%q: lint exit %d", name, code)
			}
			if f == "text" {
				if !strings.Contains(out, "-:3:12:") || !strings.Contains(out, "contains the control character") {
					t.Errorf("%q: no positioned refusal:\n%s", name, out)
				}
				noForgedLines(t, name, out)
			}
		}
	}
	dir := t.TempDir()
	evil := filepath.Join(dir, "::error file=x,line=1::forged\x1b[31m.yaml")
	write(t, evil, abba)
	code, out, e := run(t, "", "check", "--format", "text", dir)
	if code != ExitFindings {
		t.Fatalf("exit %d %s", code, e)
	}
	noForgedLines(t, "file name/text", out)
	if !strings.Contains(out, `forged\x1b[31m.yaml`) {
		t.Errorf("escape not shown visibly:\n%s", out)
	}
	// GitHub annotations: exactly one command per finding, the file name
	// escaped inside its property.
	_, out, _ = run(t, "", "check", "--format", "github", dir)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "::error file="+dir+"/%3A%3Aerror file=x%2Cline=1%3A%3Aforged") || strings.ContainsRune(out, 0x1b) {
		t.Errorf("github output forged or unescaped:\n%q", out)
	}
	// A scan of "." prints paths without a leading directory: they must not
	// start a line either.
	t.Chdir(dir)
	_, out, _ = run(t, "", "check", ".")
	noForgedLines(t, "scan of .", out)
	if !strings.Contains(out, "./::error") {
		t.Errorf("path not prefixed with ./:\n%s", out)
	}
}

// 3. DOT: names are quoted by us; Graphviz never sees an HTML ID or an
// injected attribute.
func TestDOTInjection(t *testing.T) {
	name := `<x> [URL="javascript:alert(1)" image="/etc/hostname"]; pwn [shape=star]; <y>`
	src := strings.ReplaceAll(abba, "&a->lock", strings.ReplaceAll(name, `"`, `\"`))
	code, out, e := run(t, src, "graph", "-")
	if code != ExitOK {
		t.Fatalf("graph: exit %d %s", code, e)
	}
	if !strings.Contains(out, `"<x> [URL=\"javascript:alert(1)\"`) {
		t.Errorf("node ID not quoted:\n%s", out)
	}
	dot, err := exec.LookPath("dot")
	if err != nil {
		t.Fatal("graphviz 'dot' not found")
	}
	cmd := exec.Command(dot, "-Tsvg")
	cmd.Stdin = strings.NewReader(out)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	svg, err := cmd.Output()
	if err != nil {
		t.Fatalf("dot: %v %s", err, stderr.String())
	}
	if bytes.Contains(svg, []byte("xlink:href=\"javascript")) || bytes.Contains(svg, []byte("<image")) || strings.Contains(stderr.String(), "hostname") {
		t.Errorf("injection reached the SVG:\n%s\n%s", svg, stderr.String())
	}
}

// 4. Writes never go through a symlink; -o and --write-baseline may not
// collide; a bad output path fails before the analysis.
func TestOutputsRefuseSymlinks(t *testing.T) {
	dir := t.TempDir()
	design := write(t, filepath.Join(dir, "a.yaml"), abba)
	victim := write(t, filepath.Join(dir, "outside", "victim"), "precious\n")
	link := filepath.Join(dir, "report.txt")
	if err := os.Symlink(victim, link); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"check", "-o", link, design},
		{"check", "--write-baseline", link, design},
		{"lint", "-o", link, design},
		{"graph", "-o", link, design},
		{"gen", "chain", "-o", link},
	} {
		code, _, e := run(t, "", args...)
		if code != ExitFatal || !strings.Contains(e, "symbolic link") {
			t.Errorf("%v: exit %d %q", args, code, e)
		}
		if b, _ := os.ReadFile(victim); string(b) != "precious\n" {
			t.Fatalf("%v wrote through the symlink", args)
		}
	}
	out := filepath.Join(dir, "same.txt")
	if code, _, e := run(t, "", "check", "-o", out, "--write-baseline", out, design); code != ExitUsage {
		t.Errorf("-o X --write-baseline X: exit %d %q", code, e)
	}
	// Both outputs are written, atomically, and no temporary file remains.
	rep, bl := filepath.Join(dir, "r.sarif"), filepath.Join(dir, "b.txt")
	if code, _, e := run(t, "", "check", "--format", "sarif", "-o", rep, "--write-baseline", bl, design); code != ExitFindings {
		t.Fatalf("exit %d %s", code, e)
	}
	for _, p := range []string{rep, bl} {
		if st, err := os.Lstat(p); err != nil || !st.Mode().IsRegular() {
			t.Errorf("%s not written: %v", p, err)
		}
	}
	if tmps, _ := filepath.Glob(filepath.Join(dir, ".fencecheck-*")); len(tmps) > 0 {
		t.Errorf("temporary files left: %v", tmps)
	}
	if code, _, e := run(t, "", "check", "--write-baseline", filepath.Join(dir, "no", "such", "dir", "b.txt"), design); code != ExitFatal || !strings.Contains(e, "directory") {
		t.Errorf("missing output directory: exit %d %q", code, e)
	}
}

// 5 and 7. Scans never follow a symlink out of the tree, never echo what
// is not a scenario, skip special files, and one bad entry costs only
// itself: every other file is reported.
func TestHostileTree(t *testing.T) {
	dir := t.TempDir()
	secret := write(t, filepath.Join(dir, "home", ".netrc"), "machine example.com login me password hunter2\n")
	tree := filepath.Join(dir, "designs")
	write(t, filepath.Join(tree, "good.yaml"), abba)
	if err := os.Symlink(secret, filepath.Join(tree, "a.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(tree, "good.yaml"), filepath.Join(tree, "inside.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(tree, "loop.yaml"), filepath.Join(tree, "loop.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(tree, "fifo.yaml"), 0o644); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(tree, "compose.yml"), "services:\n  web:\n    image: password-is-hunter2\n")
	write(t, filepath.Join(tree, ".github", "workflows", "ci.yml"), "on: push\n")
	write(t, filepath.Join(tree, "vendor", "x.yaml"), abba)

	for _, f := range []string{"text", "json", "sarif", "github"} {
		code, out, e := run(t, "", "check", "--format", f, "--exclude", "vendor", tree)
		if code != ExitFindings {
			t.Errorf("%s: exit %d %s", f, code, e)
		}
		if strings.Contains(out, "hunter2") {
			t.Errorf("%s: secret echoed:\n%s", f, out)
		}
		if strings.Contains(out, "ci.yml") || strings.Contains(out, "vendor") {
			t.Errorf("%s: hidden or excluded file scanned:\n%s", f, out)
		}
		for _, want := range []string{"good.yaml", "inside.yaml", "a.yaml", "loop.yaml", "fifo.yaml", "compose.yml"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s: %s not reported:\n%s", f, want, out)
			}
		}
	}
	_, out, _ := run(t, "", "check", "--format", "json", "--exclude", "vendor", tree)
	var rep struct {
		Files []struct {
			File     string
			Findings []struct{ Rule, Message string }
		}
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range rep.Files {
		var rs []string
		for _, d := range f.Findings {
			rs = append(rs, d.Rule)
		}
		got[filepath.Base(f.File)] = strings.Join(rs, ",")
	}
	want := map[string]string{
		"a.yaml":      rules.SkippedInput, // leads outside the tree
		"compose.yml": rules.NotAScenario,
		"fifo.yaml":   rules.SkippedInput,
		"good.yaml":   "FC001",
		"inside.yaml": "FC001", // a symlink inside the tree is followed
		"loop.yaml":   rules.SkippedInput,
	}
	for k, v := range want {
		if !strings.HasPrefix(got[k], v) {
			t.Errorf("%s: rules %q, want %q", k, got[k], v)
		}
	}
	// A file argument that is a symlink leaving --root is refused too.
	t.Chdir(tree)
	if code, out, _ := run(t, "", "lint", "a.yaml"); code != ExitFindings || strings.Contains(out, "hunter2") || !strings.Contains(out, rules.SkippedInput) {
		t.Errorf("explicit symlink out of the root: exit %d\n%s", code, out)
	}
	// An unreadable entry: every other file is still reported, exit 3.
	code, out, _ := run(t, "", "check", "--format", "sarif", "good.yaml", "missing.yaml")
	if code != ExitFatal || !strings.Contains(out, "good.yaml") || !strings.Contains(out, rules.Unreadable) {
		t.Errorf("missing file: exit %d\n%s", code, out)
	}
}

// 6. Exponential call: inlining is refused from its size, not by trying.
func TestCallBombIsBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("fencecheck: 1\nlocks:\n  - {name: L, kind: mutex}\npaths:\n  - {name: p0, context: ioctl, steps: [{lock: L}, {unlock: L}]}\n")
	for i := 1; i <= 40; i++ {
		fmt.Fprintf(&b, "  - {name: p%d, context: ioctl, steps: [", i)
		for j := 0; j < 10; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "{call: p%d}", i-1)
		}
		b.WriteString("]}\n")
	}
	for _, cmd := range []string{"lint", "check"} {
		code, out, _ := run(t, b.String(), cmd, "-")
		if code != ExitFindings || !strings.Contains(out, "[FC-L011]") || !strings.Contains(out, "after call: inlining") {
			t.Errorf("%s: exit %d\n%s", cmd, code, out)
		}
	}
	for _, args := range [][]string{
		{"check", "--schedules", "1000000000", "-"},
		{"check", "--schedules", "-5", "-"},
		{"trace", "--schedules", "100000000", "-"},
		{"check", "--max-steps", "0", "-"},
	} {
		if code, _, e := run(t, abba, args...); code != ExitUsage {
			t.Errorf("%v: exit %d %q", args, code, e)
		}
	}
}

// 9. A panic while analysing one file is that file's finding.
func TestPanicIsContained(t *testing.T) {
	ins := []input{{path: "a.yaml"}, {path: "boom.yaml"}, {path: "c.yaml"}}
	res := eachInput(ins, func(in input) report.FileResult {
		if in.path == "boom.yaml" {
			panic("injected")
		}
		return report.FileResult{Path: in.path}
	}, func(in input, msg string) report.FileResult {
		return report.FileResult{Path: in.path, Diags: []diag.Diagnostic{internalError(in.path, msg)}}
	})
	if len(res) != 3 || res[0].Path != "a.yaml" || res[2].Path != "c.yaml" || len(res[0].Diags)+len(res[2].Diags) != 0 {
		t.Fatalf("other files lost: %+v", res)
	}
	if len(res[1].Diags) != 1 || res[1].Diags[0].Rule != rules.InternalError || !strings.Contains(res[1].Diags[0].Message, "injected") {
		t.Fatalf("panic not reported: %+v", res[1])
	}
	if !incomplete(res) {
		t.Error("an internal error must make the run exit 3")
	}
}

// 10. Each command accepts only what it supports; integers have real
// reasons; test fails on unlisted findings.
func TestContract(t *testing.T) {
	dir := t.TempDir()
	f := write(t, filepath.Join(dir, "a.yaml"), abba)
	for _, args := range [][]string{
		{"graph", "--format", "sarif", f}, {"graph", "--color", "always", f},
		{"trace", "--format", "github", f}, {"test", "--format", "sarif", f},
		{"test", "--color", "never", f}, {"gen", "foo"}, {"gen"}, {"completion", "foo"},
	} {
		if code, _, e := run(t, "", args...); code != ExitUsage {
			t.Errorf("%v: exit %d %q", args, code, e)
		}
	}
	src := "fencecheck: 1\nbuffers:\n  - {name: bo}\npaths:\n  - {name: p, context: ioctl, steps: [{lock: bo}, {reserve_fences: bo, count: -5}, {unlock: bo}]}\n"
	_, out, _ := run(t, src, "lint", "-")
	if !strings.Contains(out, "-:5:79: error: count: -5 is too small (at least 1)") {
		t.Errorf("negative count:\n%s", out)
	}
	src = strings.Replace(src, "-5", "99999999999999999999", 1)
	_, out, _ = run(t, src, "lint", "-")
	if !strings.Contains(out, "integer 99999999999999999999 is out of range") {
		t.Errorf("huge integer:\n%s", out)
	}
	// test: an unlisted finding fails unless allow_extra says otherwise.
	// (The hang is a consequence of the cycle: naming it alone leaves the
	// cycle, the bug, unlisted.)
	strict := abba + "workload:\n  - run: p1\n  - run: p2\nexpect:\n  - findings: [{rule: hang}]\n"
	code, out, _ := run(t, strict, "test", "-")
	if code != ExitFindings || !strings.Contains(out, "unexpected finding FC001") {
		t.Errorf("extra finding accepted: exit %d\n%s", code, out)
	}
	loose := strings.Replace(strict, "  - findings:", "  - allow_extra: true\n    findings:", 1)
	if code, out, _ := run(t, loose, "test", "-"); code != ExitOK {
		t.Errorf("allow_extra: exit %d\n%s", code, out)
	}
	// SARIF rules link to their documentation.
	_, out, _ = run(t, "", "check", "--format", "sarif", f)
	if !strings.Contains(out, `"helpUri": "https://github.com/fencecheck/fencecheck/blob/main/docs/rules.md#fc001"`) {
		t.Error("SARIF rule lacks helpUri")
	}
}

// base: includes are read on behalf of the design: never from outside the
// project root, whatever the spelling (absolute, .., a symlink).
func TestBaseStaysInRoot(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "outside", "secret.yaml"), "fencecheck: 1\nlocks:\n  - {name: hunter2, kind: mutex}\n")
	root := filepath.Join(dir, "repo")
	write(t, filepath.Join(root, "common.yaml"), "fencecheck: 1\nlocks:\n  - {name: \"&drv->lock\", kind: mutex}\n")
	if err := os.Symlink(filepath.Join(dir, "outside", "secret.yaml"), filepath.Join(root, "link.yaml")); err != nil {
		t.Fatal(err)
	}
	t.Chdir(root)
	for _, ref := range []string{"../outside/secret.yaml", filepath.Join(dir, "outside", "secret.yaml"), "link.yaml", "/etc/passwd"} {
		src := fmt.Sprintf("fencecheck: 1\nbase: %q\n", ref)
		code, out, _ := run(t, src, "lint", "-")
		if code != ExitFindings || !strings.Contains(out, "lies outside the project root") || strings.Contains(out, "hunter2") {
			t.Errorf("base %s: exit %d\n%s", ref, code, out)
		}
	}
	if code, out, _ := run(t, "fencecheck: 1\nbase: common.yaml\npaths:\n  - {name: p, context: ioctl, steps: [{lock: \"&drv->lock\"}, {unlock: \"&drv->lock\"}]}\n", "lint", "-"); code != ExitOK {
		t.Errorf("base inside the root refused: exit %d\n%s", code, out)
	}
}
