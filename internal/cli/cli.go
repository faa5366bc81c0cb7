// Package cli implements the fencecheck command line. Main is the whole
// program with its streams and exit status injected, so tests drive the real
// CLI without a subprocess.
package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
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

// findingsError means the run completed and found problems (exit 1).
var errFindings = errors.New("findings")

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

Docs: docs/scenario-format.md, docs/model.md, docs/rules.md.
Exit status: 0 clean, 1 findings, 2 bad invocation, 3 fatal error.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       Version,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(newLint(e), newCheck(e), newTest(e), newTrace(e), newGraph(e), newGen(e), newSchema(e), newRules(e), newExplain(e), newVersion(e))
	root.AddCommand(newImport(e))
	return root
}

// outputFlags are the flags shared by commands that print diagnostics.
type outputFlags struct {
	format   string
	output   string
	color    string
	maxBytes int
}

func (o *outputFlags) register(c *cobra.Command) {
	c.Flags().StringVar(&o.format, "format", "text", "output format: "+strings.Join(report.Formats, ", "))
	c.Flags().StringVarP(&o.output, "output", "o", "", "write the report to `FILE` instead of standard output")
	c.Flags().StringVar(&o.color, "color", "auto", "colour: auto, always or never (NO_COLOR is honoured)")
	c.Flags().IntVar(&o.maxBytes, "max-bytes", model.DefaultMaxBytes, "refuse input files larger than `N` bytes")
	_ = c.RegisterFlagCompletionFunc("format", cobra.FixedCompletions(report.Formats, cobra.ShellCompDirectiveNoFileComp))
	_ = c.RegisterFlagCompletionFunc("color", cobra.FixedCompletions([]string{"auto", "always", "never"}, cobra.ShellCompDirectiveNoFileComp))
}

func (o *outputFlags) validate(formats []string) error {
	ok := false
	for _, f := range formats {
		if f == o.format {
			ok = true
		}
	}
	if !ok {
		return usageError{fmt.Errorf("unknown --format %q (want one of %s)", o.format, strings.Join(formats, ", "))}
	}
	switch o.color {
	case "auto", "always", "never":
	default:
		return usageError{fmt.Errorf("unknown --color %q (want auto, always or never)", o.color)}
	}
	if o.maxBytes <= 0 {
		return usageError{fmt.Errorf("--max-bytes must be positive")}
	}
	return nil
}

// writer opens the report destination.
func (o *outputFlags) writer(e *env) (io.Writer, func() error, error) {
	if o.output == "" || o.output == "-" {
		return e.stdout, func() error { return nil }, nil
	}
	f, err := os.Create(o.output)
	if err != nil {
		return nil, nil, fatalError{err}
	}
	return f, f.Close, nil
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

// input is one scenario source.
type input struct {
	path string
	data []byte
}

// collectInputs expands FILE|DIR|- arguments into scenario files, in a
// deterministic order: arguments in the order given, directory contents
// sorted. Directories contribute *.yaml and *.yml files.
func collectInputs(e *env, args []string, maxBytes int) ([]input, error) {
	if len(args) == 0 {
		return nil, usageError{errors.New("no input: give scenario files, directories, or - for standard input")}
	}
	var out []input
	for _, a := range args {
		if a == "-" {
			data, err := io.ReadAll(io.LimitReader(e.stdin, int64(maxBytes)+1))
			if err != nil {
				return nil, fatalError{fmt.Errorf("reading standard input: %w", err)}
			}
			out = append(out, input{path: "-", data: data})
			continue
		}
		st, err := os.Stat(a)
		if err != nil {
			return nil, fatalError{err}
		}
		if !st.IsDir() {
			data, err := readLimited(a, maxBytes)
			if err != nil {
				return nil, fatalError{err}
			}
			out = append(out, input{path: a, data: data})
			continue
		}
		var files []string
		err = filepath.WalkDir(a, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && (strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			return nil, fatalError{err}
		}
		sort.Strings(files)
		if len(files) == 0 {
			return nil, usageError{fmt.Errorf("%s: no .yaml or .yml files in directory", a)}
		}
		for _, p := range files {
			data, err := readLimited(p, maxBytes)
			if err != nil {
				return nil, fatalError{err}
			}
			out = append(out, input{path: p, data: data})
		}
	}
	return out, nil
}

// readLimited reads at most max+1 bytes, so an oversized file is detected
// without reading all of it into memory.
func readLimited(p string, max int) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, int64(max)+1))
}

func encodeJSONTo(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// emit writes results in the chosen format to the chosen destination.
func (o *outputFlags) emit(e *env, results []report.FileResult) error {
	w, closeFn, err := o.writer(e)
	if err != nil {
		return err
	}
	if err := report.Write(w, o.format, results, report.Options{Color: o.useColor(w), Version: Version}); err != nil {
		return fatalError{err}
	}
	if err := closeFn(); err != nil {
		return fatalError{err}
	}
	return nil
}

// loadOne reads the single FILE|- argument of graph and trace. A file that
// does not load cleanly is reported as lint would, with errFindings.
func (o *outputFlags) loadOne(e *env, args []string) (*model.Scenario, error) {
	ins, err := collectInputs(e, args, o.maxBytes)
	if err != nil {
		return nil, err
	}
	in := ins[0]
	sc, ds := model.Load(in.path, in.data, model.Options{MaxBytes: o.maxBytes})
	if sc == nil || hasErrors(ds) {
		saved := o.format
		o.format = "text"
		err := o.emit(e, []report.FileResult{{Path: in.path, Source: in.data, Diags: ds}})
		o.format = saved
		if err != nil {
			return nil, err
		}
		return nil, errFindings
	}
	return sc, nil
}
