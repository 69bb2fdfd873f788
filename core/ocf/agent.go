// Package ocf is the OCF Resource Agent API 1.1 contract as pure Go: agent
// identities and their paths, action names, the environment an agent is run
// with, exit codes and what they mean per action, exit reasons, and the
// meta-data XML. It runs nothing; the LRM builds process specs from it.
package ocf

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
)

// Agent is a resource agent identity, "ocf:<provider>:<type>".
type Agent struct {
	Provider string
	Type     string
}

// ParseAgent parses "ocf:<provider>:<type>".
func ParseAgent(s string) (Agent, error) {
	parts := strings.Split(s, ":")
	if len(parts) != 3 {
		return Agent{}, fmt.Errorf("agent %q: want ocf:<provider>:<type>", s)
	}
	if parts[0] != "ocf" {
		return Agent{}, fmt.Errorf("agent %q: class %q is not supported (only ocf)", s, parts[0])
	}
	a := Agent{Provider: parts[1], Type: parts[2]}
	if err := a.validate(); err != nil {
		return Agent{}, fmt.Errorf("agent %q: %w", s, err)
	}
	return a, nil
}

func (a Agent) validate() error {
	if err := plainName("provider", a.Provider); err != nil {
		return err
	}
	return plainName("type", a.Type)
}

// plainName refuses anything that could make a path component other than
// itself: an agent name is looked up on disk, so "..", "/" or a leading "-"
// (which a program could read as an option) would be a way out.
func plainName(what, s string) error {
	switch {
	case s == "":
		return fmt.Errorf("%s is empty", what)
	case s == "." || s == "..":
		return fmt.Errorf("%s %q is not a plain name", what, s)
	case strings.HasPrefix(s, "-"):
		return fmt.Errorf("%s %q must not start with '-'", what, s)
	case strings.ContainsAny(s, "/\\\x00:"):
		return fmt.Errorf("%s %q is not a plain name (contains '/', '\\', ':' or NUL)", what, s)
	}
	for _, r := range s {
		if r < 0x21 || r == 0x7f {
			return fmt.Errorf("%s %q contains a space or control character", what, s)
		}
	}
	return nil
}

// String returns "ocf:<provider>:<type>".
func (a Agent) String() string { return "ocf:" + a.Provider + ":" + a.Type }

// Path returns root/resource.d/<provider>/<type>. It is lexical; the live
// side also refuses a path that escapes root through symbolic links.
func (a Agent) Path(root string) (string, error) {
	if err := a.CheckPath(root); err != nil {
		return "", err
	}
	// What path.Join gives, in one concatenation: the root is absolute
	// and the names are plain (CheckPath), so only the root needs
	// cleaning, and path.Clean returns a clean root as it is.
	root = path.Clean(root)
	if root == "/" {
		root = ""
	}
	return root + "/resource.d/" + a.Provider + "/" + a.Type, nil
}

// CheckPath is Path's error alone: whether the agent has a path under
// root, without building it (the LRM checks every definition it is
// given, and builds the path only to run the agent).
func (a Agent) CheckPath(root string) error {
	if err := a.validate(); err != nil {
		return fmt.Errorf("agent %s: %w", a, err)
	}
	if !path.IsAbs(root) {
		return fmt.Errorf("agent %s: OCF root %q is not an absolute path", a, root)
	}
	return nil
}

// Action is an OCF action name.
type Action string

// The actions of OCF RA API 1.1.
const (
	Start          Action = "start"
	Stop           Action = "stop"
	Monitor        Action = "monitor"
	MetaDataAction Action = "meta-data"
	ValidateAll    Action = "validate-all"
	Promote        Action = "promote"
	Demote         Action = "demote"
	Notify         Action = "notify"
	Reload         Action = "reload"
	ReloadAgent    Action = "reload-agent"
	MigrateTo      Action = "migrate_to"
	MigrateFrom    Action = "migrate_from"
)

var actions = []Action{Start, Stop, Monitor, MetaDataAction, ValidateAll, Promote, Demote, Notify, Reload,
	ReloadAgent, MigrateTo, MigrateFrom}

// ParseAction accepts one of the OCF action names.
func ParseAction(s string) (Action, error) {
	for _, a := range actions {
		if string(a) == s {
			return a, nil
		}
	}
	return "", fmt.Errorf("action %q is not an OCF action (want one of start, stop, monitor, meta-data, validate-all, promote, demote, notify, reload, reload-agent, migrate_to, migrate_from)", s)
}

// Digest identifies a resource definition by what its agent is run with:
// the agent and every parameter, in sorted order. Two definitions with the
// same digest are one instance to the agent; a different one may be another
// instance altogether (an IP address agent's new address), so the manager
// restarts a resource whose running digest is not its configured one, as
// Pacemaker compares its operation digests. The name is left out: it is
// only what logs call the resource.
func Digest(a Agent, params map[string]string) string {
	// Built into one buffer and hashed at once, with the keys sorted in
	// a stack array: fmt.Fprintf into the hash cost several allocations
	// per parameter, and every registration and reload digests.
	var kbuf [16]string
	keys := kbuf[:0]
	size := len("ocf::") + len(a.Provider) + len(a.Type)
	for k, v := range params {
		keys = append(keys, k)
		size += len(k) + len(v) + 2*20 + 3
	}
	slices.Sort(keys)
	var bbuf [512]byte
	b := bbuf[:0]
	if size > len(bbuf) {
		b = make([]byte, 0, size)
	}
	b = append(append(append(append(b, "ocf:"...), a.Provider...), ':'), a.Type...)
	for _, k := range keys {
		// Lengths first: no parameter can end where another begins.
		v := params[k]
		b = append(strconv.AppendInt(append(b, 0), int64(len(k)), 10), ':')
		b = append(append(b, k...), '=')
		b = append(strconv.AppendInt(b, int64(len(v)), 10), ':')
		b = append(b, v...)
	}
	sum := sha256.Sum256(b)
	var hbuf [16]byte
	return string(hex.AppendEncode(hbuf[:0], sum[:8]))
}
