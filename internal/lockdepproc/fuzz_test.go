package lockdepproc

import "testing"

// FuzzParse: any input is parsed or refused with an error, never a panic;
// what parses is consistent (dependency indices valid, counts match, caps
// respected).
func FuzzParse(f *testing.F) {
	ld, ch := Generate(30, 90, 3)
	f.Add(ld, ch)
	f.Add([]byte(sample), []byte(sampleChains))
	f.Add([]byte("all lock classes:\n(____ptrval____) FD:    0 BD:    0 ....: x\n\n"), []byte("(buggered) all lock chains:\nirq_context: hardirq|softirq\n[x] x\n"))
	f.Fuzz(func(t *testing.T, data, chains []byte) {
		db, err := Parse(data)
		if err != nil {
			return
		}
		_ = db.ParseChains(chains)
		if len(db.Classes) > MaxClasses || db.Deps() > MaxDeps {
			t.Fatalf("caps exceeded: %d classes, %d deps", len(db.Classes), db.Deps())
		}
		n := 0
		for _, c := range db.Classes {
			if len(c.After) != len(c.AfterLine) {
				t.Fatal("lines out of step with dependencies")
			}
			for _, a := range c.After {
				if a < 0 || a >= len(db.Classes) {
					t.Fatalf("dependency index %d of %d", a, len(db.Classes))
				}
			}
			n += len(c.After)
		}
		if n != db.Deps() {
			t.Fatalf("%d dependencies listed, %d counted", n, db.Deps())
		}
	})
}
