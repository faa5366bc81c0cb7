package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/fencecheck/fencecheck/internal/gen"
)

func newGen(e *env) *cobra.Command {
	var output string
	var seed uint64
	write := func(s string) error {
		if output == "" || output == "-" {
			_, err := fmt.Fprint(e.stdout, s)
			return err
		}
		if err := writeFileSafe(output, []byte(s)); err != nil {
			return fatalError{err}
		}
		return nil
	}
	c := &cobra.Command{
		Use:   "gen chain|random|driver [flags]",
		Short: "Generate synthetic scenarios for scale tests and benchmarks",
		Long: `gen writes a valid scenario to standard output (or -o FILE), deterministic
from --seed. Each generated file carries its expected verdict.

  gen chain --devices N --bystanders K [--fixed]
      the seed-thread userptr chain over N devices plus K bystander threads;
      deadlocking unless --fixed
  gen random --classes C --deps D [--cycle]
      a path-layer design with about C lock classes and D dependencies,
      acyclic unless --cycle
  gen driver --scale F
      a driver-shaped design (devices, engines, VMs, buffers, VM_BINDs,
      userptrs, shrinker, notifier, timeout) scaled by F; clean`,
	}
	c.PersistentFlags().StringVarP(&output, "output", "o", "", "write to `FILE` instead of standard output")
	c.PersistentFlags().Uint64Var(&seed, "seed", 1, "random seed")

	var devices, bystanders int
	var fixed bool
	chain := &cobra.Command{Use: "chain", Short: "N-device userptr dependency chain", Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if devices < 1 || bystanders < 0 {
				return usageError{fmt.Errorf("--devices must be at least 1 and --bystanders not negative")}
			}
			return write(gen.Chain(devices, bystanders, fixed))
		}}
	chain.Flags().IntVar(&devices, "devices", 2, "number of devices in the chain")
	chain.Flags().IntVar(&bystanders, "bystanders", 0, "number of unrelated bystander threads")
	chain.Flags().BoolVar(&fixed, "fixed", false, "the fixed variant (GFP_NOWAIT in device 0's run_job)")

	var classes, deps int
	var cycle bool
	random := &cobra.Command{Use: "random", Short: "random path-layer design of a given size", Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if classes < 4 || deps < 1 {
				return usageError{fmt.Errorf("--classes must be at least 4 and --deps at least 1")}
			}
			return write(gen.Random(classes, deps, cycle, seed))
		}}
	random.Flags().IntVar(&classes, "classes", 64, "number of lock classes")
	random.Flags().IntVar(&deps, "deps", 256, "number of distinct dependencies")
	random.Flags().BoolVar(&cycle, "cycle", false, "inject one inverted dependency")

	var scale int
	driver := &cobra.Command{Use: "driver", Short: "driver-shaped design scaled by a factor", Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if scale < 1 {
				return usageError{fmt.Errorf("--scale must be at least 1")}
			}
			return write(gen.Driver(scale))
		}}
	driver.Flags().IntVar(&scale, "scale", 1, "scale factor (devices)")
	c.AddCommand(chain, random, driver)
	return c
}
