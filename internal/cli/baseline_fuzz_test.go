package cli

import (
	"strings"
	"testing"
)

// FuzzBaseline: any bytes either parse into valid fingerprints or give an
// error naming a line; never a panic, never an entry that is not 16 hex
// digits.
func FuzzBaseline(f *testing.F) {
	f.Add([]byte("# fencecheck baseline\n0123456789abcdef  # FC001 a.yaml: x\n"))
	f.Add([]byte("0123456789ABCDEF\n"))
	f.Add([]byte("\x00\x00\x00"))
	f.Add([]byte(strings.Repeat("a", 70000)))
	f.Add([]byte("0123456789abcdef extra\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := parseBaseline("b.txt", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "b.txt:") {
				t.Fatalf("error without a line: %v", err)
			}
			return
		}
		for fp := range b.entries {
			if !isFingerprint(fp) {
				t.Fatalf("accepted %q", fp)
			}
		}
		if len(b.order) != len(b.entries) {
			t.Fatalf("order %d, entries %d", len(b.order), len(b.entries))
		}
	})
}
