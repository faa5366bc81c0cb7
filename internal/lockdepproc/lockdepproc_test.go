package lockdepproc

import (
	"strings"
	"testing"
)

// A hand-written /proc/lockdep in the l_show() format, with the variants
// kernels print: OPS only with CONFIG_DEBUG_LOCKDEP, unnamed classes shown
// by their key's symbol, name versions and subclasses, hashed keys.
const sample = `all lock classes:
00000000a1b2c3d4 OPS:      40 FD:    3 BD:    1 +.+.: &mm->mmap_lock
 -> [00000000b1b2c3d4] reservation_ww_class_acquire
 -> [00000000e1b2c3d4] fs_reclaim

00000000b1b2c3d4 FD:    2 BD:    2 +.+.: reservation_ww_class_acquire
 -> [00000000c1b2c3d4] reservation_ww_class_mutex

00000000c1b2c3d4 FD:    1 BD:    3 +.+.: reservation_ww_class_mutex
 -> [00000000e1b2c3d4] fs_reclaim

00000000d1b2c3d4 FD:    0 BD:    1 -.-.: &(&ring->lock)->rlock

00000000f1b2c3d4 FD:    1 BD:    0 +.+.: &vm->lock#2/1
 -> [00000000d1b2c3d4] &(&ring->lock)->rlock

00000000e1b2c3d4 FD:    0 BD:    4 +.+.: fs_reclaim

`

const sampleChains = `all lock chains:
irq_context: 0
[00000000a1b2c3d4] &mm->mmap_lock
[00000000b1b2c3d4] reservation_ww_class_acquire

irq_context: 2
[00000000d1b2c3d4] &(&ring->lock)->rlock

`

func TestParse(t *testing.T) {
	db, err := Parse([]byte(sample))
	if err != nil {
		t.Fatal(err)
	}
	if len(db.Classes) != 6 || db.Deps() != 5 {
		t.Fatalf("%d classes, %d deps; want 6, 5", len(db.Classes), db.Deps())
	}
	c := db.Classes[0]
	if c.Name != "&mm->mmap_lock" || c.Usage != "+.+." || len(c.After) != 2 || db.Classes[c.After[1]].Name != "fs_reclaim" {
		t.Errorf("class 0: %+v", c)
	}
	if err := db.ParseChains([]byte(sampleChains)); err != nil {
		t.Fatal(err)
	}
	var ring *Class
	for i := range db.Classes {
		if db.Classes[i].Name == "&(&ring->lock)->rlock" {
			ring = &db.Classes[i]
		}
	}
	if ring == nil || !ring.HardIRQ || ring.SoftIRQ || db.Chains != 2 {
		t.Errorf("chains: %+v, %d", ring, db.Chains)
	}
}

func TestParseRejects(t *testing.T) {
	for _, bad := range []string{"", "hello world\n", " -> [1] x\n", "all lock classes:\n1 FD: 1 BD: 1 +.+.: a\n\n1 FD: 1 BD: 1 +.+.: a\n"} {
		if _, err := Parse([]byte(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

// The generator writes what Parse reads, at lockdep's caps.
func TestGenerateRoundTrip(t *testing.T) {
	ld, ch := Generate(8192, 32768, 1)
	db, err := Parse(ld)
	if err != nil {
		t.Fatal(err)
	}
	if len(db.Classes) != 8192 || db.Deps() != 32768 {
		t.Fatalf("%d classes, %d deps", len(db.Classes), db.Deps())
	}
	if err := db.ParseChains(ch); err != nil {
		t.Fatal(err)
	}
	ld2, _ := Generate(8192, 32768, 1)
	if string(ld) != string(ld2) {
		t.Error("generator is not deterministic")
	}
	if !strings.HasPrefix(string(ld), "all lock classes:\n") {
		t.Error("missing header")
	}
}
