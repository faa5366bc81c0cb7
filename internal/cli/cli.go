// Package cli implements the fencecheck command line. Main is the whole
// program with its streams and exit status injected, so tests drive the real
// CLI without a subprocess.
package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"

	"github.com/fencecheck/fencecheck/internal/model"
	"github.com/fencecheck/fencecheck/internal/report"
)

// Version is set at build time with -ldflags "-X ...cli.Version=v1.2.3".
var Version = "dev"

// Exit statuses (product.md section 6).
const (
	ExitOK       = 0
	ExitFindings = 1
	ExitUsage    = 2
	ExitFatal    = 3
)

// usageError marks a bad invocation (exit 2).
type usageError struct{ error }

// fatalError marks an unreadable input or internal failure (exit 3).
type fatalError struct{ error }

// errFindings means the run completed and found problems (exit 1).
var errFindings = errors.New("findings")

// errFatalFindings means every input was reported, but the verdict is
// incomplete: an input could not be read, or analysing one failed (exit 3).
var errFatalFindings = errors.New("incomplete")

type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

// Main runs fencecheck with args (without the program name) and returns the
// exit status.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) (code int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(stderr, "fencecheck: internal error: %v\n", r)
			code = ExitFatal
		}
	}()
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr}
	root := newRoot(e)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.Execute()
	if err == nil {
		return ExitOK
	}
	var ue usageError
	var fe fatalError
	switch {
	case errors.Is(err, errFindings):
		return ExitFindings
	case errors.Is(err, errFatalFindings):
		return ExitFatal
	case errors.As(err, &fe):
		fmt.Fprintf(stderr, "fencecheck: %v\n", fe.error)
		return ExitFatal
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "fencecheck: %v\n", ue.error)
		fmt.Fprintln(stderr, "Run 'fencecheck --help' for usage.")
		return ExitUsage
	default:
		// cobra's own errors: unknown command, bad flags, wrong arg count.
		fmt.Fprintf(stderr, "fencecheck: %v\n", err)
		fmt.Fprintln(stderr, "Run 'fencecheck --help' for usage.")
		return ExitUsage
	}
}

func newRoot(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:   "fencecheck",
		Short: "Lockdep-style dependency checker for GPU/DRM locking and memory-management designs",
		Long: `fencecheck checks a GPU driver design, written as a YAML scenario, for the
deadlocks lockdep would report — and the fence-signalling ones it cannot see.

  fencecheck check  FILE|DIR|-   full analysis: deadlocks and rule violations (the CI gate)
  fencecheck lint   FILE|DIR|-   parse and validate only
  fencecheck test   FILE|DIR     compare findings with each scenario's expect: section
  fencecheck trace  FILE         execute and print the timeline
  fencecheck graph  FILE         dependency graph as Graphviz DOT or JSON
  fencecheck gen    chain|random|driver   generate scenarios
  fencecheck import splat|lockdep        scenarios from a lockdep splat, bases from /proc/lockdep
  fencecheck rules / explain ID  the rule catalog
  fencecheck schema              JSON Schema of the scenario format

Docs: docs/scenario-format.md, docs/model.md, docs/rules.md,
docs/kernel-rules.md (the kernel rules R1-R28, cycles C1-C15, facts K1-K18).
Exit status: 0 clean, 1 findings, 2 bad invocation, 3 fatal error.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       Version,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(newLint(e), newCheck(e), newTest(e), newTrace(e), newGraph(e), newGen(e), newSchema(e), newRules(e), newExplain(e), newVersion(e))
	root.AddCommand(newImport(e))
	root.InitDefaultCompletionCmd()
	strictParents(root)
	return root
}

// strictParents makes every command that only groups subcommands (gen,
// completion) refuse an unknown subcommand or a missing one with exit 2;
// cobra's default prints help and exits 0, so "gen foo" in a script would
// silently succeed.
func strictParents(c *cobra.Command) {
	for _, sub := range c.Commands() {
		strictParents(sub)
	}
	if c.HasParent() && c.HasSubCommands() && c.Run == nil && c.RunE == nil {
		c.Args = cobra.ArbitraryArgs
		c.RunE = func(c *cobra.Command, args []string) error {
			var names []string
			for _, s := range c.Commands() {
				if s.IsAvailableCommand() {
					names = append(names, s.Name())
				}
			}
			if len(args) == 0 {
				return usageError{fmt.Errorf("%s needs a subcommand: %s", c.CommandPath(), strings.Join(names, ", "))}
			}
			return usageError{fmt.Errorf("%s: unknown subcommand %q (want one of %s)", c.CommandPath(), args[0], strings.Join(names, ", "))}
		}
	}
}

// outputFlags are the flags shared by commands that print a report. Each
// command registers only the formats it supports, and --color only where
// it colours anything.
type outputFlags struct {
	format  string
	output  string
	color   string
	quiet   bool
	formats []string
	inputFlags
}

func (o *outputFlags) register(c *cobra.Command, formats []string, color bool) {
	o.formats = formats
	c.Flags().StringVar(&o.format, "format", formats[0], "output format: "+strings.Join(formats, ", "))
	c.Flags().StringVarP(&o.output, "output", "o", "", "write the report to `FILE` instead of standard output (never through a symlink)")
	_ = c.RegisterFlagCompletionFunc("format", cobra.FixedCompletions(formats, cobra.ShellCompDirectiveNoFileComp))
	o.color = "never"
	if color {
		c.Flags().StringVar(&o.color, "color", "auto", "colour: auto, always or never (NO_COLOR is honoured)")
		_ = c.RegisterFlagCompletionFunc("color", cobra.FixedCompletions([]string{"auto", "always", "never"}, cobra.ShellCompDirectiveNoFileComp))
		c.Flags().BoolVarP(&o.quiet, "quiet", "q", false, "text: print findings only, without the per-file table and summary line")
	}
	o.inputFlags.register(c)
}

// inputFlags bound what an input may cost (docs/security.md).
type inputFlags struct {
	maxBytes int
	maxSteps int
}

func (i *inputFlags) register(c *cobra.Command) {
	c.Flags().IntVar(&i.maxBytes, "max-bytes", model.DefaultMaxBytes, "refuse input files larger than `N` bytes")
	c.Flags().IntVar(&i.maxSteps, "max-steps", model.DefaultMaxSteps, "refuse designs whose paths expand to more than `N` steps after call: inlining")
}

func (i *inputFlags) loadOptions() model.Options {
	return model.Options{MaxBytes: i.maxBytes, MaxSteps: i.maxSteps}
}

func (o *outputFlags) validate() error {
	if !slices.Contains(o.formats, o.format) {
		return usageError{fmt.Errorf("unknown --format %q (want one of %s)", o.format, strings.Join(o.formats, ", "))}
	}
	switch o.color {
	case "auto", "always", "never":
	default:
		return usageError{fmt.Errorf("unknown --color %q (want auto, always or never)", o.color)}
	}
	if o.maxBytes <= 0 {
		return usageError{fmt.Errorf("--max-bytes must be positive")}
	}
	if o.maxSteps <= 0 {
		return usageError{fmt.Errorf("--max-steps must be positive")}
	}
	return nil
}

// useColor decides colour for the stream we actually write to (not just
// stdout, which is all fatih/color's global looks at).
func (o *outputFlags) useColor(w io.Writer) bool {
	switch o.color {
	case "always":
		return true
	case "never":
		return false
	}
	if _, ok := os.LookupEnv("NO_COLOR"); ok {
		return false
	}
	if os.Getenv("TERM") == "dumb" {
		return false
	}
	f, ok := w.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

func encodeJSONTo(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// emit writes results in the chosen format to the chosen destination.
func (o *outputFlags) emit(e *env, results []report.FileResult, opt report.Options) error {
	opt.Version = Version
	opt.Quiet = o.quiet
	return o.write(e, func(w io.Writer, color bool) error {
		opt.Color = color
		return report.Write(w, o.format, results, opt)
	})
}

// write renders to standard output, or to -o FILE safely (writeFileSafe).
func (o *outputFlags) write(e *env, render func(w io.Writer, color bool) error) error {
	if o.output == "" || o.output == "-" {
		if err := render(e.stdout, o.useColor(e.stdout)); err != nil {
			return fatalError{err}
		}
		return nil
	}
	var b bytes.Buffer
	if err := render(&b, o.useColor(nil)); err != nil {
		return fatalError{err}
	}
	if err := writeFileSafe(o.output, b.Bytes()); err != nil {
		return fatalError{err}
	}
	return nil
}

// loadOne reads the single FILE|- argument of graph and trace. A file that
// does not load cleanly is reported as lint would, with errFindings.
func (o *outputFlags) loadOne(e *env, args []string) (*model.Scenario, error) {
	ins, err := collectInputs(e, args, scanOptions{maxBytes: o.maxBytes})
	if err != nil {
		return nil, err
	}
	r, sc := loadInput(ins[0], o.loadOptions())
	if sc == nil || hasErrors(r.Diags) {
		saved := o.format
		o.format = "text"
		err := o.emit(e, []report.FileResult{r}, report.Options{})
		o.format = saved
		if err != nil {
			return nil, err
		}
		if incomplete([]report.FileResult{r}) {
			return nil, errFatalFindings
		}
		return nil, errFindings
	}
	return sc, nil
}
