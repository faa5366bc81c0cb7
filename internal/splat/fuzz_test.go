package splat

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse: any input parses without panicking, within the caps, and
// every name it returns is clean text (no control characters).
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.txt")
	for _, p := range files {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
			f.Add(quote(data))
		}
	}
	f.Add([]byte("-> #99999999999999999999 (x){+.+.}-{9999:1}:\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rs := Parse(data)
		if len(rs) > MaxReports {
			t.Fatalf("%d reports", len(rs))
		}
		for _, r := range rs {
			if len(r.Entries) > MaxEntries || len(r.Held) > MaxHeld || len(r.Backtrace) > MaxFrames {
				t.Fatalf("caps exceeded")
			}
			check := func(s string) {
				if len(s) > MaxLine {
					t.Fatalf("overlong string %d", len(s))
				}
				for _, c := range []byte(s) {
					if c < 0x20 && c != '\t' || c == 0x7f {
						t.Fatalf("control character in %q", s)
					}
				}
			}
			for _, e := range r.Entries {
				check(e.Lock.Name)
				for _, fr := range e.Frames {
					check(fr.Func)
					check(fr.Raw)
				}
			}
			for _, l := range r.Lines {
				check(l)
			}
			for _, c := range r.Chain {
				check(c)
			}
		}
	})
}
