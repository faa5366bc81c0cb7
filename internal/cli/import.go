package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fencecheck/fencecheck/internal/importer"
	"github.com/fencecheck/fencecheck/internal/lockdepproc"
	"github.com/fencecheck/fencecheck/internal/safetext"
	"github.com/fencecheck/fencecheck/internal/splat"
)

func newImport(e *env) *cobra.Command {
	c := &cobra.Command{
		Use:   "import splat|lockdep",
		Short: "Write scenarios from what a kernel prints: a lockdep splat, or /proc/lockdep as a base",
		Long: `import turns kernel output into fencecheck input.

  fencecheck import splat [FILE|-] [-o DIR]
      finds every lockdep report in a kernel log (dmesg, journalctl, a CI
      log, a quoted mail) and writes one scenario per report that
      reproduces it: check --mode lockdep prints the report's chain line.
  fencecheck import lockdep FILE [--chains FILE] [-o FILE]
      writes /proc/lockdep (and /proc/lockdep_chains) of a running debug
      kernel as a base: its dependencies as observed facts that a scenario
      includes with "base: FILE".

See docs/import.md.`,
	}
	c.AddCommand(newImportSplat(e), newImportLockdep(e))
	return c
}

// readImportInput reads FILE or standard input ("-" or no argument), at most max
// bytes.
func readImportInput(e *env, args []string, max int) (string, []byte, error) {
	name := "-"
	if len(args) > 0 {
		name = args[0]
	}
	var r io.Reader = e.stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return "", nil, fatalError{err}
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, int64(max)+1))
	if err != nil {
		return "", nil, fatalError{err}
	}
	if len(data) > max {
		return "", nil, fatalError{fmt.Errorf("%s: larger than %d bytes", name, max)}
	}
	return name, data, nil
}

func newImportSplat(e *env) *cobra.Command {
	var outDir string
	c := &cobra.Command{
		Use:   "splat [FILE|-] [-o DIR]",
		Short: "Write one scenario per lockdep report found in a kernel log",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			name, data, err := readImportInput(e, args, splat.MaxInput)
			if err != nil {
				return err
			}
			reports := splat.Parse(data)
			if len(reports) == 0 {
				fmt.Fprintf(e.stderr, "%s: no lockdep report found\n", safetext.Path(name))
				return errFindings
			}
			stem := "splat"
			if name != "-" {
				stem = strings.TrimSuffix(filepath.Base(name), filepath.Ext(name))
			}
			if outDir != "" {
				if err := os.MkdirAll(outDir, 0o755); err != nil {
					return fatalError{err}
				}
			}
			for i := range reports {
				im := importer.ImportSplat(&reports[i], i+1)
				r := im.Report
				dest := "standard output"
				if outDir != "" {
					dest = filepath.Join(outDir, stem+"-"+im.Stem+".yaml")
					if err := writeFileSafe(dest, []byte(im.YAML)); err != nil {
						return fatalError{err}
					}
				} else {
					if i > 0 {
						fmt.Fprintln(e.stdout, "---")
					}
					fmt.Fprint(e.stdout, im.YAML)
				}
				fmt.Fprintf(e.stderr, "%s:%d: %s report", safetext.Path(name), r.Line, safetext.Clean(string(r.Kind)))
				if r.Task != "" {
					fmt.Fprintf(e.stderr, " (%s)", safetext.Clean(r.Task))
				}
				fmt.Fprintf(e.stderr, " -> %s\n", safetext.Path(dest))
				if im.Chain != "" {
					fmt.Fprintf(e.stderr, "  expects in lockdep mode: Chain exists of: %s\n", safetext.Clean(im.Chain))
				}
				for _, n := range im.Notes {
					fmt.Fprintf(e.stderr, "  guessed: %s\n", safetext.Clean(n))
				}
			}
			if outDir == "" && len(reports) > 1 {
				fmt.Fprintf(e.stderr, "%d reports written as one YAML stream; use -o DIR for one scenario file each\n", len(reports))
			}
			return nil
		},
	}
	c.Flags().StringVarP(&outDir, "output", "o", "", "write one scenario per report into `DIR` (default: standard output)")
	return c
}

func newImportLockdep(e *env) *cobra.Command {
	var output, chains, name string
	c := &cobra.Command{
		Use:   "lockdep FILE [--chains FILE] [-o FILE]",
		Short: "Write /proc/lockdep of a running kernel as a base of observed dependencies",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			src, data, err := readImportInput(e, args, lockdepproc.MaxInput)
			if err != nil {
				return err
			}
			db, err := lockdepproc.Parse(data)
			if err != nil {
				return fatalError{fmt.Errorf("%s: %w", src, err)}
			}
			if chains != "" {
				_, cdata, err := readImportInput(e, []string{chains}, lockdepproc.MaxInput)
				if err != nil {
					return err
				}
				if err := db.ParseChains(cdata); err != nil {
					return fatalError{fmt.Errorf("%s: %w", chains, err)}
				}
			}
			if name == "" {
				name = "lockdep base from " + filepath.Base(src)
			}
			text := importer.WriteBase(db, name)
			if output == "" || output == "-" {
				_, err = io.WriteString(e.stdout, text)
			} else {
				err = writeFileSafe(output, []byte(text))
			}
			if err != nil {
				return fatalError{err}
			}
			fmt.Fprintf(e.stderr, "%s: %d classes, %d dependencies", safetext.Path(src), len(db.Classes), db.Deps())
			if db.Chains > 0 {
				fmt.Fprintf(e.stderr, ", %d chains", db.Chains)
			}
			fmt.Fprintln(e.stderr)
			return nil
		},
	}
	c.Flags().StringVarP(&output, "output", "o", "", "write the base to `FILE` (default: standard output)")
	c.Flags().StringVar(&chains, "chains", "", "also read /proc/lockdep_chains from `FILE`")
	c.Flags().StringVar(&name, "name", "", "the base's name: line")
	return c
}
