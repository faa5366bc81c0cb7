// Package lockdepproc reads the lock graph a running debug kernel exports:
// /proc/lockdep (every lock class and its direct dependencies) and
// /proc/lockdep_chains (the held-lock chains lockdep has validated).
//
// The formats are those of kernel/locking/lockdep_proc.c. l_show() prints,
// after an "all lock classes:" line, one block per class:
//
//	<key> [OPS:%8ld] [FD:%5ld BD:%5ld] <usage>: <name>
//	 -> [<key>] <name>          (one line per locks_after entry at distance 1)
//	<blank line>
//
// where <key> is the class key printed with %p (a hashed pointer), <usage>
// is get_usage_chars() ('.', '-', '+', '?' per irq state and read/write),
// and <name> is print_name(): the class name, "#N" when name_version > 1,
// "/N" for a subclass (or the key's symbol when the class has no name).
// lc_show() prints "all lock chains:" (prefixed "(buggered) " when the chain
// hlocks overflowed), then per chain "irq_context: N" followed by
// "[<key>] <name>" lines and a blank line (older kernels print the context
// as 0/hardirq/softirq/"hardirq|softirq").
package lockdepproc

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Limits: lockdep's own caps are MAX_LOCKDEP_KEYS = 8192 classes and
// MAX_LOCKDEP_ENTRIES = 32768 direct dependencies (kernel/locking/
// lockdep_internals.h, configurable with CONFIG_LOCKDEP_BITS); the parser
// allows eight times that and refuses more.
const (
	MaxInput   = 256 << 20
	MaxClasses = 8 * 8192
	MaxDeps    = 8 * 32768
	maxName    = 512
)

// Class is one lock class.
type Class struct {
	Key   string
	Name  string
	Usage string
	Line  int
	// After are the classes taken while this one was held (direct
	// dependencies), as indices into DB.Classes, with the line of each.
	After     []int
	AfterLine []int
	// Listed: the class has its own block (not only a dependency target).
	Listed bool
	// IRQ contexts the class was seen in through /proc/lockdep_chains.
	HardIRQ, SoftIRQ bool
}

// DB is a parsed /proc/lockdep.
type DB struct {
	Classes []Class
	byKey   map[string]int
	byName  map[string]int
	deps    int
	// Chains is the number of chains read from /proc/lockdep_chains.
	Chains int
}

// Deps is the number of direct dependencies.
func (db *DB) Deps() int { return db.deps }

var (
	reClass = regexp.MustCompile(`^(\S+)((?:\s+[A-Z]+:\s*-?\d+)*)(?:\s+([-+?.]{2,16}))?:\s(.*)$`)
	reDep   = regexp.MustCompile(`^\s+->\s+\[([^\]]*)\]\s(.*)$`)
	reChain = regexp.MustCompile(`^\[([^\]]*)\]\s(.*)$`)
)

func clean(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > maxName {
		s = s[:maxName]
	}
	b := []byte(s)
	for i, c := range b {
		if c < 0x20 || c == 0x7f || c >= 0x80 {
			b[i] = '?'
		}
	}
	return string(b)
}

func (db *DB) class(key, name string, line int) int {
	if key != "" {
		if i, ok := db.byKey[key]; ok {
			return i
		}
	}
	if i, ok := db.byName[name]; ok && (key == "" || db.Classes[i].Key == "") {
		if key != "" {
			db.Classes[i].Key = key
			db.byKey[key] = i
		}
		return i
	}
	db.Classes = append(db.Classes, Class{Key: key, Name: name, Line: line})
	i := len(db.Classes) - 1
	if key != "" {
		db.byKey[key] = i
	}
	if _, ok := db.byName[name]; !ok {
		db.byName[name] = i
	}
	return i
}

func scanner(data []byte) *bufio.Scanner {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	return sc
}

// Parse reads /proc/lockdep.
func Parse(data []byte) (*DB, error) {
	if len(data) > MaxInput {
		return nil, fmt.Errorf("input larger than %d bytes", MaxInput)
	}
	db := &DB{byKey: map[string]int{}, byName: map[string]int{}}
	sc := scanner(data)
	cur := -1
	n := 0
	sawHeader := false
	for sc.Scan() {
		n++
		line := sc.Text()
		t := strings.TrimSpace(line)
		switch {
		case t == "":
			cur = -1
		case t == "all lock classes:":
			sawHeader = true
		case reDep.MatchString(line):
			if cur < 0 {
				return nil, fmt.Errorf("line %d: dependency outside a class block", n)
			}
			m := reDep.FindStringSubmatch(line)
			to := db.class(clean(m[1]), clean(m[2]), n)
			c := &db.Classes[cur]
			c.After = append(c.After, to)
			c.AfterLine = append(c.AfterLine, n)
			db.deps++
			if db.deps > MaxDeps {
				return nil, fmt.Errorf("more than %d dependencies", MaxDeps)
			}
		case reClass.MatchString(line) && !strings.HasPrefix(line, " "):
			m := reClass.FindStringSubmatch(line)
			cur = db.class(clean(m[1]), clean(m[4]), n)
			c := &db.Classes[cur]
			if c.Listed {
				return nil, fmt.Errorf("line %d: class %q listed twice", n, c.Name)
			}
			c.Listed, c.Usage, c.Line = true, m[3], n
		default:
			return nil, fmt.Errorf("line %d: not a /proc/lockdep line: %.60q", n, t)
		}
		if len(db.Classes) > MaxClasses {
			return nil, fmt.Errorf("more than %d classes", MaxClasses)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("line %d: %w", n+1, err)
	}
	if !sawHeader && len(db.Classes) == 0 {
		return nil, errors.New("no lock classes: not /proc/lockdep output")
	}
	return db, nil
}

// ParseChains reads /proc/lockdep_chains into db: the number of chains and
// which classes were held in hardirq or softirq context.
func (db *DB) ParseChains(data []byte) error {
	if len(data) > MaxInput {
		return fmt.Errorf("input larger than %d bytes", MaxInput)
	}
	sc := scanner(data)
	n := 0
	hard, soft := false, false
	for sc.Scan() {
		n++
		t := strings.TrimSpace(sc.Text())
		switch {
		case t == "":
		case strings.HasSuffix(t, "all lock chains:"):
		case strings.HasPrefix(t, "irq_context:"):
			v := strings.TrimSpace(strings.TrimPrefix(t, "irq_context:"))
			// lock_chain.irq_context: LOCK_CHAIN_SOFTIRQ_CONTEXT is bit 0,
			// LOCK_CHAIN_HARDIRQ_CONTEXT bit 1
			// (kernel/locking/lockdep_internals.h); older kernels print
			// the names.
			hard = strings.Contains(v, "hardirq") || v == "2" || v == "3"
			soft = strings.Contains(v, "softirq") || v == "1" || v == "3"
			db.Chains++
		case reChain.MatchString(t):
			m := reChain.FindStringSubmatch(t)
			key, name := clean(m[1]), clean(m[2])
			i, ok := db.byKey[key]
			if !ok {
				i, ok = db.byName[name]
			}
			if ok {
				db.Classes[i].HardIRQ = db.Classes[i].HardIRQ || hard
				db.Classes[i].SoftIRQ = db.Classes[i].SoftIRQ || soft
			}
		default:
			return fmt.Errorf("line %d: not a /proc/lockdep_chains line: %.60q", n, t)
		}
	}
	return sc.Err()
}
