// Command perfreport measures fencecheck as whole processes, side by side
// with the floor (tools/perffloor: yaml.v3 parsing the same files into a
// yaml.Node, the parse no check can avoid), and prints the tables of
// docs/performance.md as Markdown.
//
//	go run ./tools/perfreport            # the full report (about 10 minutes; the 100x analysis needs 4 GB)
//	go run ./tools/perfreport -quick     # without 10x, driver scale 200 and 100x
//
// It builds both programs into a temporary directory, generates every
// input with `fencecheck gen`, and runs the commands that a table compares
// in rounds: each of -runs rounds runs every one of them once, one after
// another, starting with a different one each round. It reports medians
// of CPU time (user+system of the child, from getrusage), peak RSS (the
// child's ru_maxrss) and wall time, and every ratio as the median of the
// ratios within a round (paired), so that a machine whose speed drifts
// during the run (a shared VM) slows both sides of a ratio alike. Ratios
// are against the floor on the same input, or against the command the
// table names. Run it on an otherwise idle machine: the figures are only
// as quiet as the machine.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"
)

type sample struct {
	cpu, wall time.Duration
	rssKiB    int64
}

type result struct{ cpu, wall, rss float64 } // medians: seconds, seconds, MiB

var (
	runs  = flag.Int("runs", 3, "rounds: runs of each command (medians are reported)")
	quick = flag.Bool("quick", false, "skip the 10x lockdep-scale design, driver scale 200 and the 100x analysis")
	keep  = flag.String("dir", "", "work in DIR (kept) instead of a temporary directory")
)

func main() {
	flag.Parse()
	if *runs < 1 {
		fail(fmt.Errorf("-runs must be at least 1"))
	}
	dir := *keep
	if dir == "" {
		d, err := os.MkdirTemp("", "perfreport")
		if err != nil {
			fail(err)
		}
		defer os.RemoveAll(d)
		dir = d
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		fail(err)
	}
	fc := filepath.Join(dir, "fencecheck")
	floor := filepath.Join(dir, "perffloor")
	mustRun("", nil, "go", "build", "-o", fc, "./cmd/fencecheck")
	mustRun("", nil, "go", "build", "-o", floor, "./tools/perffloor")
	gen := func(name string, args ...string) string {
		out := filepath.Join(dir, name)
		mustRun("", nil, fc, append(append([]string{"gen"}, args...), "-o", out)...)
		return out
	}

	loadBefore := loadavg()
	var targets []target
	var out strings.Builder
	printf := func(format string, args ...any) { fmt.Fprintf(&out, format, args...) }

	// Lockdep scale: MAX_LOCKDEP_KEYS classes, MAX_LOCKDEP_ENTRIES deps.
	type design struct{ name, file string }
	designs := []design{{"lockdep 1x", gen("random-1x.yaml", "random", "--classes", "8192", "--deps", "32768")}}
	if !*quick {
		designs = append(designs, design{"lockdep 10x", gen("random-10x.yaml", "random", "--classes", "81920", "--deps", "327680")})
	}
	printf("### Lockdep-scale random designs (`gen random`), whole processes\n")
	printf("\n")
	printf("| design | file | command | CPU | CPU vs floor | peak RSS | RSS vs floor | wall |\n")
	printf("|---|---|---|---|---|---|---|---|\n")
	for _, d := range designs {
		ss := rounds(
			command{nil, floor, []string{d.file}},
			command{nil, fc, []string{"lint", d.file}},
			command{nil, fc, []string{"check", d.file}},
			command{[]string{"GOMAXPROCS=1"}, fc, []string{"check", d.file}})
		fl, lint, check := ss[0], ss[1], ss[2]
		row := func(label string, x []sample) {
			r := medians(x)
			printf("| %s | %s | %s | %.2f s | %.2fx | %.0f MiB | %.2fx | %.2f s |\n",
				d.name, size(d.file), label, r.cpu, ratio(x, fl, cpuOf), r.rss, ratio(x, fl, rssOf), r.wall)
		}
		row("floor (yaml.v3 parse)", fl)
		row("`fencecheck lint`", lint)
		row("`fencecheck check`", check)
		row("`check`, one core", ss[3])
		lintCPU, checkCPU, checkRSS := ratio(lint, fl, cpuOf), ratio(check, fl, cpuOf), ratio(check, fl, rssOf)
		targets = append(targets,
			target{d.name + ": `lint` CPU at most 1.5x the floor", fmt.Sprintf("%.2fx", lintCPU), lintCPU <= 1.5},
			target{d.name + ": `check` CPU at most 2x the floor", fmt.Sprintf("%.2fx", checkCPU), checkCPU <= 2},
			target{d.name + ": `check` peak RSS at most 2x the floor", fmt.Sprintf("%.2fx", checkRSS), checkRSS <= 2})
	}
	printf("\n")

	// The driver family: the executor's workload.
	scales := []int{50, 100, 200}
	if *quick {
		scales = scales[:2]
	}
	printf("### The driver family (`gen driver --scale F`), whole processes\n")
	printf("\n")
	printf("| scale | file | lint CPU | `check` CPU | `check` vs lint | `check` RSS | FIFO only (`--schedules 1`) CPU | FIFO growth from the previous scale |\n")
	printf("|---|---|---|---|---|---|---|---|\n")
	// The FIFO runs of every scale in the same rounds, next to each other,
	// so that the growth from one scale to the next is a ratio within a
	// round; each scale's lint and check in rounds of their own.
	var fifos []command
	files := map[int]string{}
	for _, f := range scales {
		file := gen(fmt.Sprintf("driver-%d.yaml", f), "driver", "--scale", fmt.Sprint(f))
		files[f] = file
		fifos = append(fifos, command{nil, fc, []string{"check", "--schedules", "1", file}})
	}
	fifoSS := rounds(fifos...)
	for i, f := range scales {
		ss := rounds(command{nil, fc, []string{"lint", files[f]}}, command{nil, fc, []string{"check", files[f]}})
		lint, check, fifo := ss[0], ss[1], fifoSS[i]
		growth := ""
		if i > 0 {
			g := ratio(fifo, fifoSS[i-1], cpuOf)
			growth = fmt.Sprintf("%.2fx", g)
			targets = append(targets, target{fmt.Sprintf("driver %d -> %d: FIFO CPU grows at most 2.2x", scales[i-1], f), growth, g <= 2.2})
		}
		vsLint := ratio(check, lint, cpuOf)
		if i == len(scales)-1 {
			targets = append(targets, target{fmt.Sprintf("driver %d: default `check` CPU under 3x `lint`", f), fmt.Sprintf("%.2fx", vsLint), vsLint < 3})
		}
		printf("| %d | %s | %.2f s | %.2f s | %.2fx | %.0f MiB | %.2f s | %s |\n",
			f, size(files[f]), medians(lint).cpu, medians(check).cpu, vsLint, medians(check).rss, medians(fifo).cpu, growth)
	}
	printf("\n")

	// Many small files: does a second worker pay?
	small := filepath.Join(dir, "small")
	if err := os.MkdirAll(small, 0o755); err != nil {
		fail(err)
	}
	for i := 0; i < 100; i++ {
		args := []string{"chain", "--devices", fmt.Sprint(2 + i%8), "--bystanders", fmt.Sprint(i % 5), "--seed", fmt.Sprint(i + 1)}
		if i%2 == 1 {
			args = append(args, "--fixed")
		}
		gen(filepath.Join("small", fmt.Sprintf("chain-%03d.yaml", i)), args...)
		gen(filepath.Join("small", fmt.Sprintf("random-%03d.yaml", i)), "random", "--classes", "128", "--deps", "512", "--seed", fmt.Sprint(i+1))
	}
	ss := rounds(
		command{nil, floor, []string{small}},
		command{[]string{"GOMAXPROCS=1"}, fc, []string{"check", small}},
		command{[]string{"GOMAXPROCS=2"}, fc, []string{"check", small}})
	fl, one, two := medians(ss[0]), medians(ss[1]), medians(ss[2])
	speedup := ratio(ss[1], ss[2], wallOf)
	printf("### `check` over a directory of 200 small files (%s in all)\n\n", size(small))
	printf("| run | wall | CPU | CPU vs floor | speed-up over one worker |\n")
	printf("|---|---|---|---|---|\n")
	printf("| floor (yaml.v3 parse, one process) | %.2f s | %.2f s | 1.00x | |\n", fl.wall, fl.cpu)
	printf("| `check`, GOMAXPROCS=1 | %.2f s | %.2f s | %.2fx | 1.00x |\n", one.wall, one.cpu, ratio(ss[1], ss[0], cpuOf))
	printf("| `check`, GOMAXPROCS=2 | %.2f s | %.2f s | %.2fx | %.2fx |\n", two.wall, two.cpu, ratio(ss[2], ss[0], cpuOf), speedup)
	printf("\n")
	targets = append(targets, target{"200 small files: 2 workers at least 1.6x faster than one", fmt.Sprintf("%.2fx", speedup), speedup >= 1.6})

	// 100x lockdep scale: beyond the loader's input limit, so the analysis
	// alone (graph build and cycles) on the program gen.RandomProgram
	// builds without YAML, as a whole process: BenchmarkAnalysis.
	if !*quick {
		bench := filepath.Join(dir, "bench.test")
		mustRun("", nil, "go", "test", "-c", "-o", bench, "./internal/bench")
		// One run: about a minute and 4 GB.
		r := medians([]sample{runOnce(nil, bench, "-test.run", "XXX", "-test.bench", "Analysis/^x100$/acyclic", "-test.benchtime", "1x")})
		const limit = 4e9 / (1 << 20) // 4 GB in MiB
		printf("### The analysis at 100x lockdep scale (819,200 classes, 3,276,800 dependencies), whole process\n\n")
		printf("| run | CPU | peak RSS | wall |\n|---|---|---|---|\n")
		printf("| `BenchmarkAnalysis/x100/acyclic`: build the program in memory, then graph build and cycles | %.1f s | %.0f MiB | %.1f s |\n\n", r.cpu, r.rss, r.wall)
		targets = append(targets, target{"100x: the analysis completes within 4 GB (3815 MiB)", fmt.Sprintf("%.0f MiB", r.rss), r.rss <= limit})
	}

	printf("### The targets of this run\n\n")
	printf("| target | measured | met |\n|---|---|---|\n")
	for _, t := range targets {
		met := "no"
		if t.met {
			met = "yes"
		}
		printf("| %s | %s | %s |\n", t.what, t.value, met)
	}

	fmt.Println("<!-- generated by go run ./tools/perfreport; do not edit the tables by hand -->")
	fmt.Println()
	fmt.Printf("Machine: %s. Load average %s before the run, %s after. %d rounds: each runs the commands a table compares once each, one after another; figures are medians over the rounds, ratios medians of the ratios within a round. CPU is user+system time of the process, RSS its peak resident set, wall the elapsed time (the most sensitive to other load).\n\n",
		machine(), loadBefore, loadavg(), *runs)
	fmt.Print(out.String())
}

// target is one "done when" criterion of the performance issue.
type target struct {
	what, value string
	met         bool
}

// loadavg is the 1-minute load average, which says how quiet the machine was.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	if f := strings.Fields(string(b)); len(f) > 0 {
		return f[0]
	}
	return "unknown"
}

// command is one process to measure.
type command struct {
	env  []string
	name string
	args []string
}

// rounds measures commands side by side: each of *runs rounds runs every
// command once, one after another, starting one further along each round
// (so that none is always first, or always after the same one). It
// returns each command's samples, round by round.
func rounds(cmds ...command) [][]sample {
	out := make([][]sample, len(cmds))
	for r := 0; r < *runs; r++ {
		for k := range cmds {
			i := (k + r) % len(cmds)
			out[i] = append(out[i], runOnce(cmds[i].env, cmds[i].name, cmds[i].args...))
		}
	}
	return out
}

// medians are a command's figures over its rounds.
func medians(ss []sample) result {
	var cpu, wall, rss []float64
	for _, s := range ss {
		cpu, wall, rss = append(cpu, cpuOf(s)), append(wall, wallOf(s)), append(rss, rssOf(s))
	}
	return result{median(cpu), median(wall), median(rss)}
}

// ratio is the median over the rounds of a's figure over b's in the same
// round.
func ratio(a, b []sample, fig func(sample) float64) float64 {
	var rs []float64
	for i := range a {
		rs = append(rs, fig(a[i])/fig(b[i]))
	}
	return median(rs)
}

func cpuOf(s sample) float64  { return s.cpu.Seconds() }
func wallOf(s sample) float64 { return s.wall.Seconds() }
func rssOf(s sample) float64  { return float64(s.rssKiB) / 1024 }

func runOnce(env []string, name string, args ...string) sample {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout = io.Discard
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	// check and lint exit 1 when they report findings; anything else is a
	// failure of the measurement. A test binary exits 1 when it fails.
	findings := !strings.HasSuffix(name, ".test")
	if err != nil && (cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != 1 || !findings) {
		fail(fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String()))
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		fail(fmt.Errorf("no resource usage for %s on %s", name, runtime.GOOS))
	}
	return sample{
		cpu:    time.Duration(ru.Utime.Nano() + ru.Stime.Nano()),
		wall:   wall,
		rssKiB: int64(ru.Maxrss), // KiB on Linux
	}
}

func median(xs []float64) float64 {
	slices.Sort(xs)
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}

func mustRun(dir string, env []string, name string, args ...string) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		fail(fmt.Errorf("%s %s: %v", name, strings.Join(args, " "), err))
	}
}

// size is a file's or directory's size for the tables.
func size(path string) string {
	var n int64
	_ = filepath.WalkDir(path, func(_ string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	default:
		return fmt.Sprintf("%d KB", n>>10)
	}
}

// machine describes where the figures were taken.
func machine() string {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			var kb int64
			if _, err := fmt.Sscanf(l, "MemTotal: %d kB", &kb); err == nil {
				mem = fmt.Sprintf(", %.0f GiB", float64(kb)/(1<<20))
			}
		}
	}
	gov := strings.TrimSpace(output("go", "env", "GOVERSION"))
	return fmt.Sprintf("%s, %d cores%s, %s/%s, %s, %s", cpu, runtime.NumCPU(), mem, runtime.GOOS, runtime.GOARCH, gov, time.Now().UTC().Format("2006-01-02"))
}

func output(name string, args ...string) string {
	b, err := exec.Command(name, args...).Output()
	if err != nil {
		return "unknown"
	}
	return string(b)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "perfreport:", err)
	os.Exit(2)
}
