package model

import (
	"bytes"
	"encoding/json"
	"reflect"
	"sort"
)

// SchemaID is the $id of the published schema.
const SchemaID = "https://fencecheck.dev/schema/scenario-v1.json"

// Schema returns the JSON Schema (draft 2020-12) of the scenario format. It
// is generated from the same struct tags the loader walks, so the two cannot
// drift; references between objects (a step naming a lock) are beyond JSON
// Schema and are checked by `fencecheck lint` only.
func Schema() []byte {
	defs := map[string]any{}
	root := structSchema(reflect.TypeOf(File{}), defs)
	root["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	root["$id"] = SchemaID
	root["title"] = "fencecheck scenario, format version 1"
	root["$defs"] = defs
	props := root["properties"].(map[string]any)
	props["fencecheck"] = map[string]any{"const": 1, "description": "Format version. Must be 1."}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(root); err != nil {
		panic(err) // only maps, slices and strings: cannot fail
	}
	return buf.Bytes()
}

func structSchema(t reflect.Type, defs map[string]any) map[string]any {
	m := metaOf(t)
	props := map[string]any{}
	var req []string
	var ops []any
	for _, fm := range m.fields {
		s := fieldSchema(fm, defs)
		if fm.doc != "" {
			s["description"] = fm.doc
		}
		props[fm.key] = s
		if fm.required {
			req = append(req, fm.key)
		}
		if fm.op {
			ops = append(ops, map[string]any{"required": []string{fm.key}})
		}
	}
	out := map[string]any{
		"type":                 "object",
		"properties":           props,
		"additionalProperties": false,
	}
	if len(req) > 0 {
		sort.Strings(req)
		out["required"] = req
	}
	if len(ops) > 0 {
		out["oneOf"] = ops
	}
	return out
}

func scalarSchema(typ string, enum string) map[string]any {
	s := map[string]any{"type": typ}
	switch {
	case enum == "gfp":
		s["pattern"] = gfpPattern()
		s["examples"] = GFPTokens() // editors offer them as completions
	case enum != "":
		s["enum"] = enumSets[enum]
	}
	return s
}

func fieldSchema(fm fieldMeta, defs map[string]any) map[string]any {
	switch fm.typ {
	case strType:
		return scalarSchema("string", fm.enum)
	case intType:
		return intSchema(fm)
	case boolType:
		return map[string]any{"type": "boolean"}
	case strListType:
		item := scalarSchema("string", fm.enum)
		return map[string]any{"oneOf": []any{item, map[string]any{"type": "array", "items": item}}}
	case intListType:
		item := intSchema(fm)
		return map[string]any{"oneOf": []any{item, map[string]any{"type": "array", "items": item}}}
	}
	t := fm.typ
	isSlice := t.Kind() == reflect.Slice
	if isSlice || t.Kind() == reflect.Ptr {
		t = t.Elem()
	}
	name := t.Name()
	if _, ok := defs[name]; !ok {
		defs[name] = map[string]any{} // placeholder against recursion
		defs[name] = structSchema(t, defs)
	}
	ref := map[string]any{"$ref": "#/$defs/" + name}
	if isSlice {
		return map[string]any{"type": "array", "items": ref}
	}
	return ref
}

// FieldDoc is one documented key, for the reference in docs/scenario-format.md.
type FieldDoc struct {
	Key, Type, Doc string
	Required, Op   bool
}

// Reference lists every mapping of the format with its documented keys, in
// declaration order, starting with the top level.
func Reference() (order []string, fields map[string][]FieldDoc) {
	fields = map[string][]FieldDoc{}
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		name := t.Name()
		if _, done := fields[name]; done {
			return
		}
		order = append(order, name)
		fields[name] = nil
		m := metaOf(t)
		var next []reflect.Type
		for _, fm := range m.fields {
			typ := "string"
			switch fm.typ {
			case intType:
				typ = "integer"
			case boolType:
				typ = "boolean"
			case strListType:
				typ = "string or list of strings"
			case intListType:
				typ = "integer or list of integers"
			case strType:
			default:
				et := fm.typ
				if et.Kind() == reflect.Slice || et.Kind() == reflect.Ptr {
					if et.Kind() == reflect.Slice {
						typ = "list of " + et.Elem().Name()
					} else {
						typ = et.Elem().Name()
					}
					et = et.Elem()
				}
				next = append(next, et)
			}
			if fm.enum != "" && fm.enum != "gfp" {
				typ = "one of: " + joinList(enumSets[fm.enum])
			} else if fm.enum == "gfp" {
				typ = "GFP flag expression"
			}
			fields[name] = append(fields[name], FieldDoc{Key: fm.key, Type: typ, Doc: fm.doc, Required: fm.required, Op: fm.op})
		}
		for _, nt := range next {
			walk(nt)
		}
	}
	walk(reflect.TypeOf(File{}))
	return order, fields
}

func joinList(xs []string) string {
	var b bytes.Buffer
	for i, x := range xs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("`" + x + "`")
	}
	return b.String()
}

func intSchema(fm fieldMeta) map[string]any {
	m := map[string]any{"type": "integer"}
	if fm.min != nil {
		m["minimum"] = *fm.min
	}
	if fm.max != nil {
		m["maximum"] = *fm.max
	}
	return m
}
