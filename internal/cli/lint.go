package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fencecheck/fencecheck/internal/diag"
	"github.com/fencecheck/fencecheck/internal/model"
	"github.com/fencecheck/fencecheck/internal/report"
	"github.com/fencecheck/fencecheck/internal/rules"
)

func newLint(e *env) *cobra.Command {
	var o outputFlags
	var scan scanFlags
	c := &cobra.Command{
		Use:   "lint [flags] FILE|DIR|-...",
		Short: "Parse and validate scenario files (no analysis)",
		Long: `lint checks scenario files against the format: YAML syntax, unknown or
duplicate keys, types, required keys, names and references, enumerated values
(GFP flags, usages, contexts) and step balance within each path.

Text output is compiler-style, file:line:col: message [rule], with the source
line and a caret. Exit status: 0 clean, 1 problems, 2 bad invocation, 3 fatal.`,
		RunE: func(c *cobra.Command, args []string) error {
			if err := o.validate(); err != nil {
				return err
			}
			ins, err := collectInputs(e, args, scan.options(o.inputFlags))
			if err != nil {
				return err
			}
			lo := scan.loadOptions(o.inputFlags)
			results := eachInput(ins, func(in input) report.FileResult {
				r, _ := loadInput(in, lo)
				r.Compact()
				return r
			}, func(in input, msg string) report.FileResult {
				return report.FileResult{Path: in.path, Diags: []diag.Diagnostic{internalError(in.path, msg)}}
			})
			stampFingerprints(results, scan.root)
			if err := checkOutputPath(o.output); err != nil {
				return fatalError{err}
			}
			if err := o.emit(e, results, report.Options{Noun: "problem"}); err != nil {
				return err
			}
			if incomplete(results) {
				return errFatalFindings
			}
			if errs, warns := report.Count(results); errs+warns > 0 {
				return errFindings
			}
			return nil
		},
	}
	o.register(c, report.Formats, true)
	scan.register(c)
	return c
}

func newSchema(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema (draft 2020-12) of the scenario format",
		Long: `schema prints the JSON Schema of scenario format version 1. Point a YAML
language server at it for completion and validation in the editor, e.g. with
a first line in the scenario:

  # yaml-language-server: $schema=./fencecheck.schema.json

The schema checks structure and values; references between objects are
checked by 'fencecheck lint'.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			_, err := e.stdout.Write(model.Schema())
			return err
		},
	}
}

func newRules(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "rules",
		Short: "List the rule catalog",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			var b strings.Builder
			for _, r := range rules.All() {
				fmt.Fprintf(&b, "%-8s %-34s %-8s %s\n", r.ID, r.Name, r.Severity, r.Summary)
			}
			_, err := fmt.Fprint(e.stdout, b.String())
			return err
		},
	}
}

func newExplain(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "explain RULE",
		Short: "Explain one rule (by ID or name)",
		Args:  cobra.ExactArgs(1),
		ValidArgsFunction: func(c *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			var ids []string
			for _, r := range rules.All() {
				ids = append(ids, r.ID+"\t"+r.Name)
			}
			return ids, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(c *cobra.Command, args []string) error {
			r, ok := rules.Lookup(args[0])
			if !ok {
				return usageError{fmt.Errorf("unknown rule %q; 'fencecheck rules' lists them", args[0])}
			}
			_, err := fmt.Fprintf(e.stdout, "%s %s (%s, %s)\n\n%s\n\n%s\n\nFix: %s\n", r.ID, r.Name, r.Severity, r.Category, r.Summary, r.Doc, r.Fix)
			return err
		},
	}
}

func newVersion(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			_, err := fmt.Fprintf(e.stdout, "fencecheck %s (scenario format 1)\n", Version)
			return err
		},
	}
}
