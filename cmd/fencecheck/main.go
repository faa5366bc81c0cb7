// Command fencecheck is a lockdep-style dependency checker for GPU/DRM
// locking and memory-management designs. See README.md and docs/.
package main

import (
	"os"

	"github.com/fencecheck/fencecheck/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
