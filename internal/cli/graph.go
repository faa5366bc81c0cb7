package cli

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/fencecheck/fencecheck/internal/graph"
	"github.com/fencecheck/fencecheck/internal/kernel"
)

func newGraph(e *env) *cobra.Command {
	var o outputFlags
	var mode string
	var cycles bool
	c := &cobra.Command{
		Use:   "graph [flags] FILE|-",
		Short: "Print the dependency graph as Graphviz DOT or JSON",
		Long: `graph prints the lockdep-style dependency graph of one scenario.

  fencecheck graph --cycles scenario.yaml | dot -Tsvg > chain.svg

DOT output groups nodes by kind (lock classes, kernel pseudo-locks, fences,
reclaim callbacks), draws witness-cycle edges in red and kernel-prelude
edges dashed, and labels every edge with why it exists and the YAML
position that created it. --cycles keeps only what lies on cycles.`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if err := o.validate(); err != nil {
				return err
			}
			m, err := parseMode(mode)
			if err != nil {
				return err
			}
			if m == graph.Both {
				return usageError{fmt.Errorf("graph draws one mode: --mode precise or lockdep")}
			}
			sc, err := o.loadOne(e, args)
			if err != nil {
				return err
			}
			g, _ := graph.Build(kernel.Compile(sc), m)
			return o.write(e, func(w io.Writer, _ bool) error {
				if o.format == "json" {
					return encodeJSONTo(w, g.Export(cycles))
				}
				title := sc.File.Name.V
				if title == "" {
					title = sc.Path
				}
				b, err := g.DOT(title+" ("+string(m)+" mode)", cycles)
				if err == nil {
					_, err = w.Write(append(b, '\n'))
				}
				return err
			})
		},
	}
	o.register(c, []string{"dot", "json"}, false)
	c.Flags().StringVar(&mode, "mode", "precise", "analysis mode: precise or lockdep")
	c.Flags().BoolVar(&cycles, "cycles", false, "only nodes and edges on dependency cycles")
	return c
}
