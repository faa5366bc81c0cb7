// Package safetext makes untrusted text safe to print. Every name, path and
// message in a report can come from a scenario or a file name that anyone
// may propose in a pull request, and reports land in terminals, CI logs
// (where a line starting with "::" is a GitHub workflow command) and
// rendered pictures. Text therefore never carries a control character to
// the output: it is shown visibly, Go-quoted, instead.
package safetext

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Unsafe reports the first rune of s that must not reach a terminal or log
// verbatim, and whether there is one. Invalid UTF-8 is reported as
// utf8.RuneError.
func Unsafe(s string) (rune, bool) {
	for i, r := range s {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(s[i:]); size <= 1 {
				return r, true
			}
		}
		if isUnsafe(r) {
			return r, true
		}
	}
	return 0, false
}

// isUnsafe: C0 controls (tab included: it can hide text), DEL, C1 controls
// (0x9b is a one-byte CSI on some terminals), line and paragraph
// separators, and the bidirectional overrides and isolates that reorder
// what a reader sees ("Trojan Source", CVE-2021-42574).
func isUnsafe(r rune) bool {
	switch {
	case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f:
		return true
	case r == 0x2028, r == 0x2029:
		return true
	case r == 0x200e, r == 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	case r == 0xfeff:
		return true
	}
	return false
}

// Clean returns s with every unsafe rune (and every invalid byte) replaced
// by its Go escape (\n, \x1b, \u202e), so the text stays readable and can
// never end a line, move the cursor or start a workflow command. Clean of a
// safe string is the string itself.
func Clean(s string) string {
	if _, bad := Unsafe(s); !bad {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case isUnsafe(r):
			q := strconv.QuoteRuneToASCII(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// Path returns a file path fit to start a line of output: cleaned, and
// prefixed with "./" when it is relative and starts with anything but a
// letter, digit, '.', '_' or '/', so that a file named "::error ...yaml"
// found by a directory scan cannot start a workflow command or look like
// an option.
func Path(p string) string {
	c := Clean(p)
	if c == "" || c == "-" {
		return c
	}
	switch r := c[0]; {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '/':
		return c
	}
	return "./" + c
}
