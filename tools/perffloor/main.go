// Command perffloor is the performance floor of fencecheck: it only parses
// each YAML file named on the command line into a yaml.Node with yaml.v3,
// the parse no scenario check can avoid. tools/perfreport runs it side by
// side with the CLI; it is not meant for anything else.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
)

func main() {
	n := 0
	for _, arg := range os.Args[1:] {
		err := filepath.WalkDir(arg, func(p string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() || !(strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
				return nil
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			var doc yaml.Node
			if err := yaml.Unmarshal(data, &doc); err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
			n += len(doc.Content)
			return nil
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, "perffloor:", err)
			os.Exit(1)
		}
	}
	fmt.Println(n, "documents")
}
