package model_test

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/fencecheck/fencecheck/internal/model"
)

const formatDoc = "../../docs/scenario-format.md"

// TestReferenceInSync keeps the key reference in docs/scenario-format.md
// equal to the format definition.
func TestReferenceInSync(t *testing.T) {
	data, err := os.ReadFile(formatDoc)
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	const begin, end = "<!-- BEGIN REFERENCE -->\n", "<!-- END REFERENCE -->"
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		t.Fatal("reference markers missing")
	}
	want := s[:i+len(begin)] + strings.TrimPrefix(model.ReferenceMarkdown(), "\n") + s[j:]
	if *update {
		if err := os.WriteFile(formatDoc, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if s != want {
		t.Error("docs/scenario-format.md reference is out of date; run go test ./internal/model -run Reference -update")
	}
}

// TestDocExamplesLoad: the complete example in the format doc is valid.
func TestDocExamplesLoad(t *testing.T) {
	data, _ := os.ReadFile(formatDoc)
	blocks := regexp.MustCompile("(?s)```yaml\n(fencecheck: 1.*?)```").FindAllStringSubmatch(string(data), -1)
	if len(blocks) == 0 {
		t.Fatal("no complete example in the format doc")
	}
	for _, b := range blocks {
		if _, ds := model.Load("doc-example.yaml", []byte(b[1]), model.Options{}); len(ds) > 0 {
			t.Errorf("doc example does not load:\n%s", render(ds))
		}
	}
}
