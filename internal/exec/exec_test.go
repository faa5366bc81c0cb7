package exec_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/fencecheck/fencecheck/internal/diag"
	"github.com/fencecheck/fencecheck/internal/exec"
	"github.com/fencecheck/fencecheck/internal/kernel"
	"github.com/fencecheck/fencecheck/internal/model"
	"github.com/fencecheck/fencecheck/internal/rules"
)

func compile(t *testing.T, src string) *kernel.Program {
	t.Helper()
	sc, ds := model.Load("t.yaml", []byte(src), model.Options{})
	if sc == nil || len(ds) > 0 {
		t.Fatalf("scenario does not load: %+v", ds)
	}
	return kernel.Compile(sc)
}

func byRule(ds []diag.Diagnostic, rule string) []diag.Diagnostic {
	var out []diag.Diagnostic
	for _, d := range ds {
		if d.Rule == rule {
			out = append(out, d)
		}
	}
	return out
}

const abba = `fencecheck: 1
locks:
  - {name: A, kind: mutex}
  - {name: B, kind: mutex}
paths:
  - name: t1
    context: ioctl
    steps: [{lock: A}, {lock: B}, {unlock: B}, {unlock: A}]
  - name: t2
    context: ioctl
    steps: [{lock: B}, {lock: A}, {unlock: A}, {unlock: B}]
workload:
  - run: t1
  - run: t2
`

func TestABBAHangsUnderSomeSchedule(t *testing.T) {
	p := compile(t, abba)
	fifo := exec.Run(p, exec.Options{Schedules: 1, Only: -1})
	if len(fifo.Findings) != 0 || fifo.Schedules[0].Outcome != "completed" {
		t.Fatalf("FIFO schedule should complete: %+v", fifo.Findings)
	}
	res := exec.Run(p, exec.Options{Schedules: 32, Seed: 1, Only: -1})
	hangs := byRule(res.Findings, rules.Hang)
	if len(hangs) != 1 {
		t.Fatalf("want one distinct hang, got %d: %+v", len(hangs), res.Findings)
	}
	h := hangs[0]
	for _, want := range []string{"t1", "t2", "A", "B"} {
		found := false
		for _, n := range h.Cycle {
			if n == want {
				found = true
			}
		}
		if !found {
			t.Errorf("hang cycle %v does not name %s", h.Cycle, want)
		}
	}
	// The hang names its schedule, and replaying that schedule alone
	// reproduces it.
	var k int
	if _, err := parseSchedule(h.Message, &k); err != nil {
		t.Fatalf("no schedule in %q", h.Message)
	}
	again := exec.Run(p, exec.Options{Schedules: k + 1, Seed: 1, Only: k})
	if len(byRule(again.Findings, rules.Hang)) != 1 {
		t.Errorf("replaying schedule %d does not hang", k)
	}
}

func parseSchedule(msg string, k *int) (int, error) {
	i := strings.Index(msg, "schedule ")
	if i < 0 {
		return 0, os.ErrNotExist
	}
	n := 0
	for _, c := range msg[i+len("schedule "):] {
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + int(c-'0')
	}
	*k = n
	return n, nil
}

const depNeverSignals = `fencecheck: 1
devices:
  - name: gpu
    engines: [{name: gfx}]
    schedulers: [{name: s, engine: gfx, entities: [{name: q}]}]
fences:
  - {name: user_fence, indefinite: true}
jobs:
  - {name: job_B, entity: q, fence: fence_B, deps: [user_fence]}
paths:
  - name: waiter
    context: ioctl
    steps: [{wait: fence_B}]
workload:
  - submit: job_B
  - run: waiter
`

func TestDependencyNeverSignals(t *testing.T) {
	res := exec.Run(compile(t, depNeverSignals), exec.Options{Schedules: 1, Only: -1})
	un := byRule(res.Findings, rules.Unsignalled)
	got := map[string]string{}
	for _, d := range un {
		got[strings.Fields(d.Message)[1]] = d.Message
	}
	if !strings.Contains(got["fence_B"], "cannot run until its dependency user_fence signals") {
		t.Errorf("fence_B: want the dependency as reason, got %q", got["fence_B"])
	}
	if !strings.Contains(got["user_fence"], "indefinite") {
		t.Errorf("user_fence: want 'indefinite' as reason, got %q", got["user_fence"])
	}
	if len(byRule(res.Findings, rules.Hang)) != 1 {
		t.Errorf("the waiter is stuck forever: want a hang finding, got %+v", res.Findings)
	}
}

const unbind = `fencecheck: 1
devices:
  - name: gpu
    engines: [{name: gfx}]
vms:
  - {name: vm, device: gpu}
userptrs:
  - {name: uptr, device: gpu, vm: vm, notifier: inval}
paths:
  - name: bind
    context: ioctl
    steps: [{map_pages: uptr}]
  - name: inval
    context: notifier
    steps:
      - zap_ptes: uptr
STEPS
workload:
  - run: bind
  - munmap: uptr
`

func TestGoldenRuleUnmapBeforeFlush(t *testing.T) {
	bad := strings.Replace(unbind, "STEPS\n", "", 1) // no TLB flush before the core mm frees
	res := exec.Run(compile(t, bad), exec.Options{Schedules: 1, Only: -1})
	g := byRule(res.Findings, rules.GoldenRule)
	if len(g) != 1 || !strings.Contains(g[0].Message, "TLB has not been flushed") {
		t.Fatalf("want one golden-rule finding about the TLB, got %+v", res.Findings)
	}
	if g[0].Pos.Line != 19 { // the munmap action, where the core mm frees the pages
		t.Errorf("golden-rule finding at line %d, want 19 (munmap)", g[0].Pos.Line)
	}
	// The report shows where the reachable PTE comes from: the notifier's
	// zap (line 16), with no flush after it, then the free.
	if c := g[0].Chain; len(c) != 2 || c[0].Pos.Line != 16 || !strings.Contains(c[0].Message, "zap") || c[1].Pos.Line != 19 {
		t.Errorf("golden-rule chain: want the zap at line 16, then the free at 19; got %+v", c)
	}
	// With no zap at all, the PTE written by bind (line 12) still maps it.
	res = exec.Run(compile(t, strings.Replace(strings.Replace(unbind, "STEPS\n", "", 1), "      - zap_ptes: uptr\n", "      - set_seq: uptr\n", 1)), exec.Options{Schedules: 1, Only: -1})
	g = byRule(res.Findings, rules.GoldenRule)
	if len(g) != 1 || !strings.Contains(g[0].Message, "still maps it") || len(g[0].Chain) != 2 || g[0].Chain[0].Pos.Line != 12 {
		t.Errorf("no zap: want the map at line 12 in the chain of a 'still maps it' finding, got %+v", g)
	}
	good := strings.Replace(unbind, "STEPS\n", "      - tlb_flush: vm\n", 1)
	res = exec.Run(compile(t, good), exec.Options{Schedules: 4, Seed: 1, Only: -1})
	if len(res.Findings) != 0 {
		t.Errorf("flush first should be clean, got %+v", res.Findings)
	}
}

// A job that accesses a userptr is submitted, then munmap frees the pages:
// without the notifier waiting for the userptr's fences the pages go back
// while the job may still run (R20). The report starts at the job that
// uses them and ends at the free; the notifier that waits is clean.
const jobUse = `fencecheck: 1
devices:
  - name: gpu
    engines: [{name: gfx}]
    schedulers:
      - {name: sched, engine: gfx, entities: [{name: q}]}
userptrs:
  - {name: uptr, device: gpu, notifier: inval}
jobs:
  - name: job
    entity: q
    buffers: [{buffer: uptr, usage: WRITE}]
    submit: submit
    run_job: run
paths:
  - name: submit
    context: ioctl
    steps:
      - {lock: uptr}
      - {reserve_fences: uptr}
  - name: run
    context: run_job
    steps: [{alloc: GFP_NOWAIT}]
  - name: inval
    context: notifier
    steps:
      - set_seq: uptr
WAIT
workload:
  - submit: job
  - munmap: uptr
`

func TestGoldenRuleFreeUnderRunningJob(t *testing.T) {
	res := exec.Run(compile(t, strings.Replace(jobUse, "WAIT\n", "", 1)), exec.Options{Schedules: 1, Only: -1})
	g := byRule(res.Findings, rules.GoldenRule)
	if len(g) != 1 || !strings.Contains(g[0].Message, "while job job, which accesses it, has not completed (job.finished unsignalled)") {
		t.Fatalf("want one golden-rule finding about the running job, got %+v", res.Findings)
	}
	if g[0].Pos.Line != 30 { // munmap: the core mm frees the pages
		t.Errorf("finding at line %d, want 30 (munmap)", g[0].Pos.Line)
	}
	if c := g[0].Chain; len(c) != 2 || c[0].Pos.Line != 10 || !strings.Contains(c[0].Message, "job job uses uptr") || c[1].Pos.Line != 30 {
		t.Errorf("chain: want the job that uses uptr (line 10), then the free (line 30); got %+v", c)
	}
	fixed := strings.Replace(jobUse, "WAIT\n", "      - {wait_resv: uptr, usage: BOOKKEEP}\n", 1)
	res = exec.Run(compile(t, fixed), exec.Options{Schedules: 4, Seed: 1, Only: -1})
	if g := byRule(res.Findings, rules.GoldenRule); len(g) != 0 {
		t.Errorf("the notifier waits for the job's fence: want no golden-rule finding, got %+v", g)
	}
}

// contention: two ww acquire contexts taking two resvs in opposite orders
// (testdata/ww-abba.yaml).
var contention = mustRead("testdata/ww-abba.yaml")

func mustRead(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func TestDrmExecBacksOffAndCompletes(t *testing.T) {
	res := exec.Run(compile(t, contention), exec.Options{Schedules: 32, Seed: 7, Only: -1, Trace: true})
	backoffs := 0
	for _, s := range res.Schedules {
		if s.Outcome != "completed" {
			t.Errorf("schedule %d: %s", s.Index, s.Outcome)
		}
		for _, e := range s.Events {
			if e.Kind == "backoff" {
				backoffs++
			}
		}
	}
	if backoffs == 0 {
		t.Error("no schedule contended: the test does not exercise -EDEADLK backoff")
	}
	if len(res.Findings) != 0 {
		t.Errorf("drm_exec under contention must not hang: %+v", res.Findings)
	}
}

func TestResvRules(t *testing.T) {
	src := `fencecheck: 1
buffers: [{name: bo}]
fences:
  - {name: f1, context: ring, seqno: 1}
  - {name: f2, context: ring, seqno: 2}
paths:
  - name: p
    context: ioctl
    steps:
      - lock: bo
      - add_fence: bo
        fence: f1
      - unlock: bo
      - add_fence: bo
        fence: f2
      - signal: f2
      - signal: f1
workload:
  - run: p
`
	res := exec.Run(compile(t, src), exec.Options{Schedules: 1, Only: -1})
	for rule, line := range map[string]int{rules.MissingSlot: 11, rules.ResvNotLocked: 14, rules.OutOfOrderSignal: 16} {
		ds := byRule(res.Findings, rule)
		if len(ds) == 0 || ds[0].Pos.Line != line {
			t.Errorf("%s: want a finding at line %d, got %+v", rule, line, ds)
		}
	}
}

func TestTimeoutForceCompletes(t *testing.T) {
	src := `fencecheck: 1
devices:
  - name: gpu
    engines: [{name: gfx}]
    schedulers: [{name: s, engine: gfx, entities: [{name: q}], TIMEOUT}]
jobs:
  - {name: j, entity: q}
paths:
  - {name: reset, context: timedout_job, steps: [{alloc: GFP_NOWAIT}]}
workload:
  - submit: j
  - hang: j
`
	with := exec.Run(compile(t, strings.Replace(src, ", TIMEOUT", ", timedout_job: reset", 1)), exec.Options{Schedules: 1, Only: -1})
	if len(with.Findings) != 0 {
		t.Errorf("timeout recovery should complete the fence: %+v", with.Findings)
	}
	without := exec.Run(compile(t, strings.Replace(src, ", TIMEOUT", "", 1)), exec.Options{Schedules: 1, Only: -1})
	un := byRule(without.Findings, rules.Unsignalled)
	if len(un) != 1 || !strings.Contains(un[0].Message, "nothing recovers it") {
		t.Errorf("without timedout_job the fence must stay unsignalled with the reason: %+v", without.Findings)
	}
}

// TestTracesAreDeterministic: the same scenario and schedule give identical
// traces.
func TestTracesAreDeterministic(t *testing.T) {
	data, err := os.ReadFile("../../scenarios/seeds/01-userptr-cross-device.yaml")
	if err != nil {
		t.Fatal(err)
	}
	sc, _ := model.Load("seed01.yaml", data, model.Options{})
	var first []byte
	for i := 0; i < 5; i++ {
		res := exec.Run(kernel.Compile(sc), exec.Options{Schedules: 6, Seed: 3, Only: -1, Trace: true})
		b, _ := json.Marshal(res.Schedules)
		if i == 0 {
			first = b
		} else if string(b) != string(first) {
			t.Fatal("traces differ between runs")
		}
	}
}

// TestLivenessChainStopsAtRepeat: an unsignalled fence caught in a hang
// explains itself once around the cycle, not repeatedly.
func TestLivenessChainStopsAtRepeat(t *testing.T) {
	data, err := os.ReadFile("../../scenarios/seeds/01-userptr-cross-device.yaml")
	if err != nil {
		t.Fatal(err)
	}
	sc, _ := model.Load("seed01.yaml", data, model.Options{})
	res := exec.Run(kernel.Compile(sc), exec.Options{Schedules: 1, Only: -1})
	un := byRule(res.Findings, rules.Unsignalled)
	if len(un) != 2 {
		t.Fatalf("want fence_A and fence_B unsignalled, got %+v", un)
	}
	for _, d := range un {
		seen := map[string]bool{}
		for _, st := range d.Chain {
			if seen[st.Message] {
				t.Errorf("%s: chain repeats %q", d.Message, st.Message)
			}
			seen[st.Message] = true
		}
		if len(d.Chain) != 3 {
			t.Errorf("%s: want the 3-step wait-for chain, got %d steps", d.Message, len(d.Chain))
		}
	}
}

// TestWWContextHoldingNothingWaits: a context that holds no lock of its own
// never backs off (__ww_mutex_check_kill returns 0 when ctx->acquired is 0);
// it waits for the older holder. The same two contexts taking a second lock
// while holding the first do back off (TestDrmExecBacksOffAndCompletes).
func TestWWContextHoldingNothingWaits(t *testing.T) {
	single := strings.NewReplacer("      - {lock: bo2, ctx: c}\n      - ww_acquire_fini: c\n", "      - ww_acquire_fini: c\n",
		"      - {lock: bo2, ctx: c}\n      - {lock: bo1, ctx: c}\n", "      - {lock: bo1, ctx: c}\n").Replace(contention)
	if strings.Contains(single, "bo2, ctx") {
		t.Fatalf("rewrite failed:\n%s", single)
	}
	res := exec.Run(compile(t, single), exec.Options{Schedules: 64, Seed: 7, Only: -1, Trace: true})
	waits := 0
	for _, s := range res.Schedules {
		if s.Outcome != "completed" {
			t.Errorf("schedule %d: %s", s.Index, s.Outcome)
		}
		for _, e := range s.Events {
			if e.Kind == "backoff" {
				t.Fatalf("schedule %d: a context holding nothing backed off: %s", s.Index, e.Text)
			}
		}
	}
	// Make sure the contexts did meet on bo1 with the younger one second.
	for _, s := range res.Schedules {
		for i, e := range s.Events {
			if e.Kind == "ww_acquire_init" && i+1 < len(s.Events) && s.Events[i+1].Kind == "ww_acquire_init" {
				waits++
			}
		}
	}
	if waits == 0 {
		t.Error("no schedule took both tickets before either lock: the test does not exercise contention")
	}
}
