package model

import (
	"fmt"
	"math"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"

	"github.com/fencecheck/fencecheck/internal/diag"
	"github.com/fencecheck/fencecheck/internal/rules"
	"github.com/fencecheck/fencecheck/internal/safetext"
)

// maxDepth bounds the nesting the walker follows. The walker only descends
// into keys the format defines (at most seven levels), so this is a
// defensive guard for future format changes, not a limit users meet.
const maxDepth = 64

// fieldMeta is the parsed form of one struct field's tags.
type fieldMeta struct {
	key      string
	index    int
	required bool
	op       bool
	enum     string
	ref      []string
	decl     string
	doc      string
	typ      reflect.Type
	// min and max bound integer values (tags min=N, max=N); nil: none.
	min, max *int64
}

type typeMeta struct {
	fields []fieldMeta
	byKey  map[string]int
	hasOp  bool
}

var (
	metaMu    sync.Mutex
	metaCache = map[reflect.Type]*typeMeta{}

	strType     = reflect.TypeOf(Str{})
	intType     = reflect.TypeOf(Int{})
	boolType    = reflect.TypeOf(Bool{})
	strListType = reflect.TypeOf(StrList{})
	intListType = reflect.TypeOf(IntList{})
	posType     = reflect.TypeOf(Pos{})
)

func metaOf(t reflect.Type) *typeMeta {
	metaMu.Lock()
	defer metaMu.Unlock()
	if m, ok := metaCache[t]; ok {
		return m
	}
	m := &typeMeta{byKey: map[string]int{}}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag, ok := f.Tag.Lookup("fc")
		if !ok {
			continue
		}
		parts := strings.Split(tag, ",")
		fm := fieldMeta{key: parts[0], index: i, doc: f.Tag.Get("doc"), typ: f.Type}
		for _, p := range parts[1:] {
			switch {
			case p == "required":
				fm.required = true
			case p == "op":
				fm.op = true
				m.hasOp = true
			case strings.HasPrefix(p, "enum="):
				fm.enum = p[5:]
			case strings.HasPrefix(p, "ref="):
				fm.ref = strings.Split(p[4:], "|")
			case strings.HasPrefix(p, "decl="):
				fm.decl = p[5:]
			case strings.HasPrefix(p, "min="), strings.HasPrefix(p, "max="):
				v, err := strconv.ParseInt(p[4:], 0, 64)
				if err != nil {
					panic("model: bad bound in tag " + tag)
				}
				if p[:3] == "min" {
					fm.min = &v
				} else {
					fm.max = &v
				}
			}
		}
		m.byKey[fm.key] = len(m.fields)
		m.fields = append(m.fields, fm)
	}
	metaCache[t] = m
	return m
}

// decl and ref record names for the semantic pass.
type declRec struct {
	kind string
	name Str
}

type refRec struct {
	kinds []string
	name  Str
	key   string
}

type decoder struct {
	file  string
	diags []diag.Diagnostic
	decls []declRec
	refs  []refRec
	abort bool
}

func (d *decoder) errorf(rule string, p Pos, format string, args ...any) {
	d.diags = append(d.diags, diag.Diagnostic{
		File: d.file, Pos: p, Rule: rule, Severity: rules.SeverityOf(rule),
		Message: fmt.Sprintf(format, args...),
	})
}

func posOf(n *yaml.Node) Pos { return Pos{Line: n.Line, Col: n.Column} }

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "null"
		case "!!bool":
			return "a boolean"
		case "!!int":
			return "an integer"
		case "!!float":
			return "a number"
		}
		return "a string"
	}
	return "a document"
}

// rejectAlias reports aliases and anchors-with-aliases. Aliases are never
// followed, so alias bombs and recursive aliases cannot cost anything.
func (d *decoder) rejectAlias(n *yaml.Node) bool {
	if n.Kind == yaml.AliasNode {
		d.errorf(rules.YAMLAlias, posOf(n), "YAML alias *%s is not allowed in scenario files; spell the value out or use call: to share steps", n.Value)
		return true
	}
	return false
}

// decodeStruct decodes a mapping node into the struct v.
func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, depth int) {
	if d.abort {
		return
	}
	if depth > maxDepth {
		d.errorf(rules.InputLimit, posOf(n), "input nested deeper than %d levels", maxDepth)
		d.abort = true
		return
	}
	if d.rejectAlias(n) {
		return
	}
	t := v.Type()
	m := metaOf(t)
	if n.Kind != yaml.MappingNode {
		d.errorf(rules.WrongType, posOf(n), "expected a mapping, got %s", kindName(n))
		return
	}
	if pf := v.FieldByName("P"); pf.IsValid() && pf.Type() == posType {
		pf.Set(reflect.ValueOf(posOf(n)))
	}
	seen := map[string]Pos{}
	var ops []string
	var opPos []Pos
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.AliasNode || k.ShortTag() == "!!merge" {
			d.errorf(rules.YAMLAlias, posOf(k), "YAML merge keys and aliases are not allowed in scenario files")
			continue
		}
		if k.Kind != yaml.ScalarNode {
			d.errorf(rules.WrongType, posOf(k), "mapping keys must be plain strings, got %s", kindName(k))
			continue
		}
		key := k.Value
		if prev, dup := seen[key]; dup {
			d.errorf(rules.DuplicateKey, posOf(k), "duplicate key %q (first defined at %s)", key, prev)
			continue
		}
		seen[key] = posOf(k)
		idx, ok := m.byKey[key]
		if !ok {
			d.errorf(rules.UnknownKey, posOf(k), "unknown key %q in %s%s", key, typeLabel(t), suggest(key, m.keys()))
			continue
		}
		fm := m.fields[idx]
		if fm.op {
			ops = append(ops, key)
			opPos = append(opPos, posOf(k))
		}
		d.decodeValue(val, v.Field(fm.index), fm, depth+1)
	}
	for _, fm := range m.fields {
		if fm.required {
			if _, ok := seen[fm.key]; !ok {
				if fm.key == "fencecheck" {
					d.errorf(rules.Version, posOf(n), "missing the format version: a scenario starts with `fencecheck: 1`")
					continue
				}
				d.errorf(rules.MissingField, posOf(n), "%s is missing required key %q", typeLabel(t), fm.key)
			}
		}
	}
	if m.hasOp {
		switch len(ops) {
		case 0:
			d.errorf(rules.BadStep, posOf(n), "%s has no operation; expected one of: %s", typeLabel(t), strings.Join(m.opKeys(), ", "))
		case 1:
		default:
			d.errorf(rules.BadStep, opPos[1], "%s has two operations, %q and %q; write them as separate steps", typeLabel(t), ops[0], ops[1])
		}
	}
}

func (m *typeMeta) keys() []string {
	out := make([]string, 0, len(m.fields))
	for _, f := range m.fields {
		out = append(out, f.key)
	}
	return out
}

func (m *typeMeta) opKeys() []string {
	var out []string
	for _, f := range m.fields {
		if f.op {
			out = append(out, f.key)
		}
	}
	return out
}

// typeLabel names a struct type the way the docs do.
func typeLabel(t reflect.Type) string {
	switch t.Name() {
	case "File":
		return "the scenario"
	case "BufUse":
		return "job buffer"
	case "ExpectFinding":
		return "expected finding"
	case "MMU":
		return "mmu"
	case "VM":
		return "vm"
	case "DmaBuf":
		return "dmabuf"
	case "Action":
		return "workload action"
	}
	return strings.ToLower(t.Name())
}

func (d *decoder) decodeValue(n *yaml.Node, f reflect.Value, fm fieldMeta, depth int) {
	if d.abort {
		return
	}
	if d.rejectAlias(n) {
		return
	}
	switch f.Type() {
	case strType:
		s, ok := d.scalarString(n, fm.key)
		if !ok {
			return
		}
		d.checkEnum(fm, s)
		f.Set(reflect.ValueOf(s))
		d.record(fm, s)
		return
	case intType:
		if iv, ok := d.scalarInt(n, fm); ok {
			f.Set(reflect.ValueOf(iv))
		}
		return
	case intListType:
		var list IntList
		switch n.Kind {
		case yaml.ScalarNode:
			if iv, ok := d.scalarInt(n, fm); ok {
				list = append(list, iv)
			}
		case yaml.SequenceNode:
			for _, e := range n.Content {
				if d.rejectAlias(e) {
					continue
				}
				if iv, ok := d.scalarInt(e, fm); ok {
					list = append(list, iv)
				}
			}
		default:
			d.errorf(rules.WrongType, posOf(n), "%s: expected an integer or a list of integers, got %s", fm.key, kindName(n))
			return
		}
		f.Set(reflect.ValueOf(list))
		return
	case boolType:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
			hint := ""
			if n.Kind == yaml.ScalarNode {
				switch strings.ToLower(n.Value) {
				case "yes", "no", "on", "off", "y", "n":
					hint = " (YAML 1.2 booleans are true and false only)"
				}
			}
			d.errorf(rules.WrongType, posOf(n), "%s: expected true or false, got %s%s", fm.key, kindName(n), hint)
			return
		}
		bv := n.Value == "true" || n.Value == "True" || n.Value == "TRUE"
		f.Set(reflect.ValueOf(Bool{V: bv, P: posOf(n), Set: true}))
		return
	case strListType:
		var list StrList
		switch n.Kind {
		case yaml.ScalarNode:
			if s, ok := d.scalarString(n, fm.key); ok {
				list = append(list, s)
			}
		case yaml.SequenceNode:
			for _, e := range n.Content {
				if d.rejectAlias(e) {
					continue
				}
				if s, ok := d.scalarString(e, fm.key); ok {
					list = append(list, s)
				}
			}
		default:
			d.errorf(rules.WrongType, posOf(n), "%s: expected a string or a list of strings, got %s", fm.key, kindName(n))
			return
		}
		for _, s := range list {
			d.checkEnum(fm, s)
			d.record(fm, s)
		}
		f.Set(reflect.ValueOf(list))
		return
	}
	switch f.Kind() {
	case reflect.Ptr:
		nv := reflect.New(f.Type().Elem())
		d.decodeStruct(n, nv.Elem(), depth)
		f.Set(nv)
	case reflect.Struct:
		d.decodeStruct(n, f, depth)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.errorf(rules.WrongType, posOf(n), "%s: expected a list, got %s", fm.key, kindName(n))
			return
		}
		sl := reflect.MakeSlice(f.Type(), len(n.Content), len(n.Content))
		for i, e := range n.Content {
			d.decodeStruct(e, sl.Index(i), depth+1)
			if d.abort {
				return
			}
		}
		f.Set(sl)
	default:
		panic("model: unsupported field type " + f.Type().String())
	}
}

func (d *decoder) scalarInt(n *yaml.Node, fm fieldMeta) (Int, bool) {
	key := fm.key
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!float" && bigIntRe.MatchString(n.Value) {
		// yaml.v3 resolves an integer too large for int64 as a float.
		d.errorf(rules.WrongType, posOf(n), "%s: integer %s is out of range (at most %d)", key, n.Value, int64(math.MaxInt64))
		return Int{}, false
	}
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
		d.errorf(rules.WrongType, posOf(n), "%s: expected an integer, got %s", key, kindName(n))
		return Int{}, false
	}
	iv, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 64)
	if err != nil {
		d.errorf(rules.WrongType, posOf(n), "%s: integer %s is out of range (at most %d)", key, n.Value, int64(math.MaxInt64))
		return Int{}, false
	}
	if fm.min != nil && iv < *fm.min {
		d.errorf(rules.InvalidValue, posOf(n), "%s: %d is too small (at least %d)", key, iv, *fm.min)
		return Int{}, false
	}
	if fm.max != nil && iv > *fm.max {
		d.errorf(rules.InvalidValue, posOf(n), "%s: %d is too large (at most %d)", key, iv, *fm.max)
		return Int{}, false
	}
	return Int{V: iv, P: posOf(n), Set: true}, true
}

var bigIntRe = regexp.MustCompile(`^[-+]?[0-9][0-9_]*$`)

func (d *decoder) scalarString(n *yaml.Node, key string) (Str, bool) {
	if n.Kind != yaml.ScalarNode {
		d.errorf(rules.WrongType, posOf(n), "%s: expected a string, got %s", key, kindName(n))
		return Str{}, false
	}
	if n.ShortTag() != "!!str" {
		d.errorf(rules.WrongType, posOf(n), "%s: expected a string, got %s (quote it if it is meant as text)", key, kindName(n))
		return Str{}, false
	}
	return Str{V: n.Value, P: posOf(n)}, true
}

func (d *decoder) checkEnum(fm fieldMeta, s Str) {
	if fm.enum == "" {
		return
	}
	ok, allowed, bad := validEnum(fm.enum, s.V)
	if ok {
		return
	}
	if fm.enum == "gfp" {
		d.errorf(rules.InvalidValue, s.P, "%s: unknown GFP flag %q%s", fm.key, bad, suggest(bad, allowed))
		return
	}
	d.errorf(rules.InvalidValue, s.P, "%s: invalid value %q; expected one of: %s%s", fm.key, s.V, strings.Join(allowed, ", "), suggest(s.V, allowed))
}

func (d *decoder) record(fm fieldMeta, s Str) {
	if fm.decl != "" || len(fm.ref) > 0 {
		// Names reach terminals, CI logs and pictures; lockdep's class
		// names are printable strings such as &vm->lock. A control
		// character in one is an attack on the output, not a name.
		if r, bad := safetext.Unsafe(s.V); bad {
			d.errorf(rules.InvalidValue, s.P, "%s: name %s contains the control character %U; names must be printable text such as &vm->lock", fm.key, safetext.Clean(strconv.Quote(s.V)), r)
			return
		}
	}
	if fm.decl != "" && s.V != "" {
		d.decls = append(d.decls, declRec{kind: fm.decl, name: s})
	}
	if len(fm.ref) > 0 {
		d.refs = append(d.refs, refRec{kinds: fm.ref, name: s, key: fm.key})
	}
}

// suggest returns "; did you mean X?" for the closest candidate within a
// small edit distance, or "".
func suggest(s string, candidates []string) string {
	best, bestD := "", 1<<30
	for _, c := range candidates {
		dd := editDistance(strings.ToLower(s), strings.ToLower(c))
		if dd < bestD || (dd == bestD && c < best) {
			best, bestD = c, dd
		}
	}
	limit := len(s) / 3
	if limit < 2 {
		limit = 2
	}
	if best == "" || bestD > limit {
		return ""
	}
	return fmt.Sprintf("; did you mean %q?", best)
}

func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	if len(ra) > 64 || len(rb) > 64 {
		return 1 << 20 // names that long are never typos of each other
	}
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			c := prev[j-1]
			if ra[i-1] != rb[j-1] {
				c++
			}
			c = min(c, prev[j]+1, cur[j-1]+1)
			cur[j] = c
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
