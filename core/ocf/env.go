package ocf

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ValidParamName reports whether name may be an OCF parameter name, which
// becomes the environment variable OCF_RESKEY_<name>.
func ValidParamName(name string) error {
	if name == "" {
		return fmt.Errorf("parameter name is empty")
	}
	for i, r := range name {
		ok := r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9'
		if !ok {
			return fmt.Errorf("parameter name %q: only letters, digits and '_' are allowed, not starting with a digit", name)
		}
	}
	if strings.HasPrefix(name, "CRM_meta") {
		return fmt.Errorf("parameter name %q: the CRM_meta prefix is reserved for meta attributes", name)
	}
	return nil
}

// ValidMetaName reports whether name may be a meta attribute passed to an
// agent, which becomes OCF_RESKEY_CRM_meta_<name>: letters, digits and '_'
// (Pacemaker's own are lower case with '_'), and not timeout or interval,
// which the operation itself sets.
func ValidMetaName(name string) error {
	if name == "" {
		return fmt.Errorf("meta attribute name is empty")
	}
	for _, r := range name {
		if r != '_' && (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
			return fmt.Errorf("meta attribute name %q: only letters, digits and '_' are allowed", name)
		}
	}
	if name == "timeout" || name == "interval" {
		return fmt.Errorf("meta attribute %q is the operation's own", name)
	}
	return nil
}

// addMeta adds the meta attributes to env, in name order so that of
// several bad ones the same is reported every time.
func addMeta(env []envVar, meta map[string]string) ([]envVar, error) {
	var buf [16]string // on the stack: a notification's few
	names := buf[:0]
	for name := range meta {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if err := ValidMetaName(name); err != nil {
			return nil, fmt.Errorf("environment: %w", err)
		}
		if strings.ContainsRune(meta[name], 0) {
			return nil, fmt.Errorf("environment: meta attribute %s contains a NUL byte", name)
		}
		env = append(env, envVar{prefix: metaPrefix, key: name, value: meta[name]})
	}
	return env, nil
}

// The prefixes of parameters' and meta attributes' variables.
const (
	paramPrefix = "OCF_RESKEY_"
	metaPrefix  = "OCF_RESKEY_CRM_meta_"
)

// envVar is one variable of an environment being built: prefix+key is
// its name, and its value is value, or num in decimal when isNum. The
// name and a number are put together only in the text joinEnv writes:
// concatenating a name and formatting a number per variable cost an
// allocation each, in every run's environment.
type envVar struct {
	prefix, key, value string
	num                int64
	isNum              bool
}

// numVar is the variable key whose value is n in decimal.
func numVar(key string, n int64) envVar { return envVar{key: key, num: n, isNum: true} }

// nameLen is the length of v's name.
func (v *envVar) nameLen() int { return len(v.prefix) + len(v.key) }

// nameByte is the byte i of v's name.
func (v *envVar) nameByte(i int) byte {
	if i < len(v.prefix) {
		return v.prefix[i]
	}
	return v.key[i-len(v.prefix)]
}

// compareNames orders a and b by name, as strings.Compare of the names
// would.
func compareNames(a, b *envVar) int {
	if a.prefix == b.prefix {
		return strings.Compare(a.key, b.key)
	}
	la, lb := a.nameLen(), b.nameLen()
	for i := range min(la, lb) {
		if ca, cb := a.nameByte(i), b.nameByte(i); ca != cb {
			return int(ca) - int(cb)
		}
	}
	return la - lb
}

// valueLen is the length of v's value as joinEnv writes it.
func (v *envVar) valueLen() int {
	if !v.isNum {
		return len(v.value)
	}
	var buf [20]byte
	return len(strconv.AppendInt(buf[:0], v.num, 10))
}

// EnvSpec is what Env needs to build an agent's environment.
type EnvSpec struct {
	// Root is OCF_ROOT.
	Root  string
	Agent Agent
	// Instance is OCF_RESOURCE_INSTANCE, the resource's id.
	Instance string
	// Params become OCF_RESKEY_<name>=<value>, values verbatim: the
	// environment is the one channel an agent's parameters travel, never a
	// shell command line.
	Params map[string]string
	// Timeout is OCF_RESKEY_CRM_meta_timeout (ms), omitted when 0.
	Timeout time.Duration
	// Interval is OCF_RESKEY_CRM_meta_interval (ms), 0 for one-shot ops.
	Interval time.Duration
	// Depth is OCF_CHECK_LEVEL, for monitors.
	Depth int
	// Meta become OCF_RESKEY_CRM_meta_<name>=<value>: the meta attributes
	// Pacemaker passes beside the parameters (a clone instance's
	// clone, clone_max, ..., a notification's notify_* lists). Names
	// follow ValidMetaName; timeout and interval are Timeout's and
	// Interval's, never Meta's.
	Meta map[string]string
	// Extra entries (PATH, say) come after validation; they may not set an
	// OCF_ variable, so that nothing overrides the contract.
	Extra []string
}

// Env returns an agent's complete environment, sorted by key.
func Env(s EnvSpec) ([]string, error) {
	if err := s.Agent.validate(); err != nil {
		return nil, fmt.Errorf("environment: agent %s: %w", s.Agent, err)
	}
	if s.Instance == "" || strings.ContainsAny(s.Instance, "\x00\n") {
		return nil, fmt.Errorf("environment: resource instance %q is empty or has a NUL or newline", s.Instance)
	}
	if s.Root == "" {
		return nil, fmt.Errorf("environment: OCF_ROOT is empty")
	}
	// A slice, not a map: every run of every agent builds one. No two
	// keys are equal but Extra's own (the OCF_ variables are fixed,
	// OCF_RESKEY_<param> cannot start with CRM_meta, Extra cannot set an
	// OCF_ variable), where the last one wins, as it would in a map. The
	// slice and the sorted names are on the stack for the usual few: the
	// environment's text and its list are Env's only allocations.
	var envBuf [32]envVar
	env := append(envBuf[:0],
		envVar{key: "OCF_ROOT", value: s.Root},
		envVar{key: "OCF_RA_VERSION_MAJOR", value: "1"},
		envVar{key: "OCF_RA_VERSION_MINOR", value: "1"},
		envVar{key: "OCF_RESOURCE_INSTANCE", value: s.Instance},
		envVar{key: "OCF_RESOURCE_TYPE", value: s.Agent.Type},
		envVar{key: "OCF_RESOURCE_PROVIDER", value: s.Agent.Provider},
		numVar("OCF_RESKEY_CRM_meta_interval", s.Interval.Milliseconds()),
		numVar("OCF_CHECK_LEVEL", int64(s.Depth)),
	)
	if s.Timeout > 0 {
		env = append(env, numVar("OCF_RESKEY_CRM_meta_timeout", s.Timeout.Milliseconds()))
	}
	// In name order, so that of several bad parameters the same one is
	// reported every time.
	var nameBuf [32]string
	params := nameBuf[:0]
	for name := range s.Params {
		params = append(params, name)
	}
	slices.Sort(params)
	for _, name := range params {
		v := s.Params[name]
		if err := ValidParamName(name); err != nil {
			return nil, fmt.Errorf("environment: %w", err)
		}
		if strings.ContainsRune(v, 0) {
			return nil, fmt.Errorf("environment: parameter %s contains a NUL byte", name)
		}
		env = append(env, envVar{prefix: paramPrefix, key: name, value: v})
	}
	env, err := addMeta(env, s.Meta)
	if err != nil {
		return nil, err
	}
	extra := len(env)
	for _, kv := range s.Extra {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("environment: extra entry %q is not KEY=VALUE", kv)
		}
		if strings.HasPrefix(k, "OCF_") {
			return nil, fmt.Errorf("environment: extra entry %q may not set an OCF_ variable", k)
		}
		if strings.ContainsRune(kv, 0) {
			return nil, fmt.Errorf("environment: extra entry %q contains a NUL byte", k)
		}
		if i := slices.IndexFunc(env[extra:], func(e envVar) bool { return e.key == k }); i >= 0 {
			env[extra+i].value = v
			continue
		}
		env = append(env, envVar{key: k, value: v})
	}
	slices.SortFunc(env, func(a, b envVar) int { return compareNames(&a, &b) })
	return joinEnv(env), nil
}

// joinEnv renders each variable as KEY=VALUE. The texts are written into
// one string and sliced from it: a concatenation per variable cost a dozen
// allocations per run's environment, two here.
func joinEnv(env []envVar) []string {
	size := 0
	for i := range env {
		size += env[i].nameLen() + 1 + env[i].valueLen()
	}
	var all strings.Builder
	all.Grow(size)
	for i := range env {
		e := &env[i]
		all.WriteString(e.prefix)
		all.WriteString(e.key)
		all.WriteByte('=')
		if e.isNum {
			var buf [20]byte
			all.Write(strconv.AppendInt(buf[:0], e.num, 10))
		} else {
			all.WriteString(e.value)
		}
	}
	text := all.String()
	out := make([]string, len(env))
	for i := range env {
		n := env[i].nameLen() + 1 + env[i].valueLen()
		out[i], text = text[:n], text[n:]
	}
	return out
}
