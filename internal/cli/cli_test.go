package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func run(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

const repo = "../../"

func TestExitCodes(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want int
	}{
		{"lint library", []string{"lint", repo + "scenarios/"}, ExitOK},
		{"lint bad file", []string{"lint", repo + "internal/model/testdata/lint/unknown-key.yaml"}, ExitFindings},
		{"check fixed design", []string{"check", repo + "scenarios/cases/02-i915-error-capture-fixed.yaml"}, ExitOK},
		{"check deadlock", []string{"check", repo + "scenarios/seeds/01-userptr-cross-device.yaml"}, ExitFindings},
		{"check deadlock fail-on never", []string{"check", "--fail-on", "never", repo + "scenarios/seeds/01-userptr-cross-device.yaml"}, ExitOK},
		{"check invalid scenario", []string{"check", repo + "internal/model/testdata/lint/bad-step.yaml"}, ExitFindings},
		{"unknown flag", []string{"lint", "--bogus", "x.yaml"}, ExitUsage},
		{"bad format", []string{"lint", "--format", "xml", repo + "scenarios/"}, ExitUsage},
		{"bad mode", []string{"check", "--mode", "fast", repo + "scenarios/"}, ExitUsage},
		{"no args", []string{"lint"}, ExitUsage},
		{"unknown command", []string{"frobnicate"}, ExitUsage},
		{"missing file", []string{"lint", "does-not-exist.yaml"}, ExitFatal},
		{"test library", []string{"test", repo + "scenarios/"}, ExitOK},
		{"explain", []string{"explain", "FC001"}, ExitOK},
		{"explain unknown", []string{"explain", "FC999"}, ExitUsage},
		{"schema", []string{"schema"}, ExitOK},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errOut := run(t, "", c.args...)
			if code != c.want {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, c.want, out, errOut)
			}
		})
	}
}

func TestStdin(t *testing.T) {
	data, err := os.ReadFile(repo + "scenarios/seeds/01-userptr-cross-device.yaml")
	if err != nil {
		t.Fatal(err)
	}
	code, out, _ := run(t, string(data), "check", "--format", "json", "-")
	if code != ExitFindings {
		t.Fatalf("exit %d", code)
	}
	var rep struct {
		Files []struct {
			File     string
			Findings []struct {
				Rule    string
				Cycle   []string
				Line    int
				Related []struct{ Rule string }
			}
		}
		Summary struct{ Errors int }
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("bad JSON: %v\n%s", err, out)
	}
	if rep.Files[0].File != "-" {
		t.Errorf("stdin reported as %q", rep.Files[0].File)
	}
	rules := map[string][]string{}
	for _, f := range rep.Files[0].Findings {
		rules[f.Rule] = f.Cycle
		for _, r := range f.Related {
			rules[r.Rule] = nil // the hang is a consequence of the cycle
		}
	}
	cyc := strings.Join(rules["FC001"], " ")
	for _, n := range []string{"fence_A", "fence_B", "fs_reclaim", "notifier(userptr_buf)"} {
		if !strings.Contains(cyc, n) {
			t.Errorf("FC001 cycle %q lacks %s", cyc, n)
		}
	}
	if _, ok := rules["FC003"]; !ok {
		t.Errorf("no hang reported under memory pressure: %+v", rep)
	}
	if rep.Summary.Errors != len(rep.Files[0].Findings) {
		t.Errorf("summary counts %d errors for %d findings", rep.Summary.Errors, len(rep.Files[0].Findings))
	}
}

func TestLintTextPointsAtTheLine(t *testing.T) {
	_, out, _ := run(t, "", "lint", "--color", "never", repo+"internal/model/testdata/lint/undefined-ref.yaml")
	want := "undefined-ref.yaml:10:15: error: lock: \"vm_lok\" is not declared (expected a lock, a buffer, a vm, a dma-buf or a userptr); did you mean \"vm_lock\"? [FC-L007]\n        - lock: vm_lok\n                ^\n"
	if !strings.Contains(out, want) {
		t.Errorf("missing caret diagnostic; got:\n%s", out)
	}
	if strings.Contains(out, "\x1b[") {
		t.Error("--color never printed escape codes")
	}
	_, out, _ = run(t, "", "lint", "--color", "always", repo+"internal/model/testdata/lint/undefined-ref.yaml")
	if !strings.Contains(out, "\x1b[") {
		t.Error("--color always printed no escape codes")
	}
}

func TestBaseline(t *testing.T) {
	dir := t.TempDir()
	bl := filepath.Join(dir, "baseline.txt")
	bad := repo + "scenarios/seeds/01-userptr-cross-device.yaml"
	if code, _, errOut := run(t, "", "check", "--write-baseline", bl, bad); code != ExitFindings {
		t.Fatalf("write-baseline run: exit %d %s", code, errOut)
	}
	if code, out, _ := run(t, "", "check", "--baseline", bl, bad); code != ExitOK {
		t.Errorf("baselined finding still fails: exit %d\n%s", code, out)
	}
	// A different finding is not covered by the baseline.
	other := repo + "scenarios/cases/02-i915-error-capture.yaml"
	if code, _, _ := run(t, "", "check", "--baseline", bl, other); code != ExitFindings {
		t.Errorf("new finding hidden by an unrelated baseline: exit %d", code)
	}
}

// TestDeterministic: same input, same bytes, in every format.
// TestDeterministic: the same bytes whatever the run, the seed or the
// number of cores: the whole library in JSON (every finding, every
// message) with the default seed on all cores, with --seed 7, and on one
// core; every format twice on the seed designs.
func TestDeterministic(t *testing.T) {
	_, a, errA := run(t, "", "check", "--format", "json", repo+"scenarios/")
	_, b, errB := run(t, "", "check", "--format", "json", "--seed", "7", repo+"scenarios/")
	if a != b || errA != errB {
		t.Fatalf("the library's report depends on --seed under the default exploration")
	}
	prev := runtime.GOMAXPROCS(1)
	_, c, errC := run(t, "", "check", "--format", "json", repo+"scenarios/")
	runtime.GOMAXPROCS(prev)
	if a != c || errA != errC {
		t.Fatalf("the library's report depends on the number of cores")
	}
	for _, f := range []string{"text", "json", "sarif", "github"} {
		_, x, _ := run(t, "", "check", "--format", f, repo+"scenarios/seeds/")
		_, y, _ := run(t, "", "check", "--format", f, "--seed", "3", repo+"scenarios/seeds/")
		if x != y {
			t.Fatalf("%s output differs between runs", f)
		}
	}
}

// TestHangReportShowsBlockedTasks: a hang report lists every blocked task,
// what it waits on and every lock it holds with the step that took it, as
// the kernel's hung-task report with lockdep's held locks does. In seed 02
// the munmap task waits for the page-table fence holding the update lock,
// and the user copy's run_job is blocked on that lock.
func TestHangReportShowsBlockedTasks(t *testing.T) {
	_, out, _ := run(t, "", "check", "--no-group", "--format", "json", repo+"scenarios/seeds/02-hmm-pt-update-shared-queue.yaml")
	var rep struct {
		Files []struct {
			Findings []struct {
				Rule    string
				Blocked []struct {
					Task  string
					Waits struct{ Message string }
					Holds []struct {
						To  string
						Pos struct{ Line int }
					}
				}
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range rep.Files[0].Findings {
		if f.Rule != "FC003" {
			continue
		}
		for _, b := range f.Blocked {
			s := b.Task + " waits: " + b.Waits.Message + "; holds:"
			for _, h := range b.Holds {
				s += fmt.Sprintf(" %s@%d", h.To, h.Pos.Line)
			}
			got = append(got, s)
		}
	}
	all := strings.Join(got, "\n")
	for _, want := range []string{
		"munmap(mirror) waits: thread munmap(mirror) (process) waits for pt_update.finished",
		"&svm->update_lock@53",
		"run_job(user_copy) waits: thread run_job(user_copy) (run_job) blocks in lock: &svm->update_lock",
		"user_copy.finished@41",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("blocked tasks lack %q:\n%s", want, all)
		}
	}
}
