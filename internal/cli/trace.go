package cli

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fencecheck/fencecheck/internal/analysis"
	"github.com/fencecheck/fencecheck/internal/exec"
	"github.com/fencecheck/fencecheck/internal/kernel"
	"github.com/fencecheck/fencecheck/internal/safetext"
)

func newTrace(e *env) *cobra.Command {
	var o outputFlags
	var schedules int
	var seed uint64
	var schedule, explore string
	c := &cobra.Command{
		Use:   "trace [flags] FILE|-",
		Short: "Execute a scenario and print the timeline per thread and engine",
		Long: `trace compiles one scenario onto the kernel + GPU model, executes it until
all work is done or nothing can make progress, and prints every step: which
thread did what, in which context, holding which locks and inside which
signalling sections, and the YAML position that caused it.

Schedule 0 is FIFO (the oldest runnable thread runs until it blocks);
--schedules N adds N-1 random interleavings seeded by --seed. A hang report
names the schedule; --schedule K replays exactly that one. A finding of
--explore names its interleaving by an ID (x, x3:1.7:0, ...): --schedule ID
replays exactly that interleaving; --explore bounded=K|exhaustive prints the
first interleaving that shows each finding.`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if err := o.validate(); err != nil {
				return err
			}
			if schedules < 1 || schedules > MaxSchedules {
				return usageError{fmt.Errorf("--schedules wants 1 to %d", MaxSchedules)}
			}
			if k, err := strconv.Atoi(schedule); err == nil && (k < 0 || k >= MaxSchedules) {
				return usageError{fmt.Errorf("--schedule wants 0 to %d or an interleaving ID", MaxSchedules-1)}
			}
			if err := checkOutputPath(o.output); err != nil {
				return fatalError{err}
			}
			sc, err := o.loadOne(e, args)
			if err != nil {
				return err
			}
			prog := kernel.Compile(sc)
			if prog.OverBudget {
				return usageError{fmt.Errorf("%s: the design is too large to trace (more than 4x --max-steps once expanded)", sc.Path)}
			}
			// A trace keeps every event of every schedule it runs.
			if schedule == "" && explore == "" && schedules > analysis.TraceBudgetSchedules(prog) {
				return usageError{fmt.Errorf("--schedules %d would keep more than %d events for this design; trace at most %d schedules, or replay one with --schedule K", schedules, analysis.TraceBudget, analysis.TraceBudgetSchedules(prog))}
			}
			res, err := traceRun(prog, schedules, seed, schedule, explore)
			if err != nil {
				return err
			}
			err = o.write(e, func(w io.Writer, _ bool) error {
				if o.format == "json" {
					return encodeJSONTo(w, struct {
						File      string           `json:"file"`
						Seed      uint64           `json:"seed"`
						Schedules []*exec.Schedule `json:"schedules"`
					}{sc.Path, seed, res.Schedules})
				}
				_, err := io.WriteString(w, formatTrace(sc.Path, res))
				return err
			})
			if err != nil {
				return err
			}
			if len(res.Findings) > 0 {
				return errFindings
			}
			return nil
		},
	}
	o.register(c, []string{"text", "json"}, false)
	c.Flags().IntVar(&schedules, "schedules", 1, "number of schedules: FIFO plus N-1 random interleavings")
	c.Flags().Uint64Var(&seed, "seed", 1, "seed of the random schedules")
	c.Flags().StringVar(&schedule, "schedule", "", "replay only schedule `K` (a number) or the explored interleaving with this ID")
	c.Flags().StringVar(&explore, "explore", "", "explore systematically (exhaustive, bounded=K or random=N) and trace each finding's first interleaving")
	return c
}

// traceRun runs the schedules trace prints: random ones by number, an
// explored interleaving by ID, or every finding's witness of an --explore.
func traceRun(p *kernel.Program, schedules int, seed uint64, schedule, explore string) (*exec.Result, error) {
	if strings.HasPrefix(schedule, "x") {
		sch, err := exploreReplay(p, schedule)
		if err != nil {
			return nil, usageError{err}
		}
		return &exec.Result{Seed: seed, Schedules: []*exec.Schedule{sch}, Findings: sch.Findings}, nil
	}
	only := -1
	if schedule != "" {
		k, err := strconv.Atoi(schedule)
		if err != nil || k < 0 {
			return nil, usageError{fmt.Errorf("--schedule %q: want a schedule number or an interleaving ID", schedule)}
		}
		only = k
	}
	if explore != "" {
		eo, n, err := analysis.ParseExplore(explore)
		if err != nil {
			return nil, usageError{err}
		}
		if n == 0 {
			return exploreWitnesses(p, eo), nil
		}
		schedules = n
	}
	if only >= schedules {
		schedules = only + 1
	}
	return exec.Run(p, exec.Options{Schedules: schedules, Seed: seed, Only: only, Trace: true}), nil
}

// formatTrace renders the timeline. Every line is passed through
// safetext.Clean: thread names, step texts and the path come from the
// scenario and must not reach a terminal or CI log raw.
func formatTrace(path string, res *exec.Result) string {
	path = safetext.Path(path)
	var raw strings.Builder
	b := &raw
	for _, sch := range res.Schedules {
		kind := "FIFO"
		if sch.Index > 0 {
			kind = fmt.Sprintf("random, seed %d", res.Seed)
		}
		if sch.Index < 0 {
			fmt.Fprintf(b, "explored %s, %d steps\n", sch.Outcome, len(sch.Events))
		} else {
			fmt.Fprintf(b, "schedule %d (%s): %s, %d steps\n", sch.Index, kind, sch.Outcome, len(sch.Events))
		}
		for _, ev := range sch.Events {
			where := ""
			if ev.Pos.Valid() {
				where = fmt.Sprintf("  %s:%d:%d", path, ev.Pos.Line, ev.Pos.Col)
			}
			state := ""
			if len(ev.Held) > 0 {
				state += " held={" + strings.Join(ev.Held, ", ") + "}"
			}
			if len(ev.Sections) > 0 {
				state += " signalling={" + strings.Join(ev.Sections, ", ") + "}"
			}
			who := ev.Thread
			if who == "" {
				who = "(system)"
			}
			fmt.Fprintf(b, "%5d  %-24s %-14s %-16s %s%s%s\n", ev.Seq, who, ev.Context, ev.Kind, ev.Text, state, where)
		}
		// Per-thread timeline: the steps of each thread in order.
		fmt.Fprintf(b, "\n  per thread:\n")
		var order []string
		steps := map[string][]string{}
		for _, ev := range sch.Events {
			who := ev.Thread
			if who == "" {
				who = "(system)"
			}
			if _, ok := steps[who]; !ok {
				order = append(order, who)
			}
			steps[who] = append(steps[who], fmt.Sprintf("#%d %s", ev.Seq, ev.Kind))
		}
		for _, who := range order {
			fmt.Fprintf(b, "    %-24s %s\n", who, strings.Join(steps[who], ", "))
		}
		var hw []string
		for _, ev := range sch.Events {
			if ev.Kind == "hw" || ev.Kind == "signal" || ev.Kind == "timeout" {
				hw = append(hw, fmt.Sprintf("#%d %s", ev.Seq, ev.Text))
			}
		}
		if len(hw) > 0 {
			fmt.Fprintf(b, "  engines and fences:\n")
			for _, h := range hw {
				fmt.Fprintf(b, "    %s\n", h)
			}
		}
		for _, d := range sch.Findings {
			fmt.Fprintf(b, "  %s:%d:%d: %s [%s]\n", d.File, d.Pos.Line, d.Pos.Col, d.Message, d.Rule)
			for _, st := range d.Chain {
				fmt.Fprintf(b, "      %s:%d:%d: %s\n", st.File, st.Pos.Line, st.Pos.Col, st.Message)
			}
		}
		b.WriteString("\n")
	}
	lines := strings.Split(raw.String(), "\n")
	for i, l := range lines {
		lines[i] = safetext.Clean(l)
	}
	return strings.Join(lines, "\n")
}
