// Package fenceargs is the fence agent API's argument rules: what may stand
// in one key=value line of a fence agent's stdin, and which keys each
// request sets itself. The configuration loader and the agent both apply
// them, so that what the loader accepts is what the agent will run.
package fenceargs

import (
	"fmt"
	"slices"
	"unicode"
	"unicode/utf8"
)

// reservedFenceParams are the fence agent arguments that each request sets
// (the action and the target's plug) and their aliases in the fence agent
// API: "option" is read as the action and "port" as the plug. A device
// parameter with one of these names would turn every request into another
// one (an "option=off" made every status check a power-off).
var reservedFenceParams = []string{"action", "option", "plug", "port"}

// Reserved reports whether name is set by Basalt for each fence
// request and so may not be a device parameter.
func Reserved(name string) bool { return slices.Contains(reservedFenceParams, name) }

// ReservedNames lists the reserved names, for error messages.
func ReservedNames() []string { return slices.Clone(reservedFenceParams) }

// CheckText refuses text that could not stand in one key=value line
// of a fence agent's stdin: fence agents split their input into lines, and
// some split on more than '\n' (Python's splitlines also breaks at \v, \f,
// \x1c-\x1e, U+0085, U+2028 and U+2029), so any control or line-separator
// character could smuggle in another argument.
func CheckText(s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("is not valid UTF-8")
	}
	for i, r := range s {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return fmt.Errorf("holds the control or line-separator character %U at byte %d", r, i)
		}
	}
	return nil
}
