// Package core holds Basalt's deterministic decision-making logic, one
// package per concept (ocf, lrm, model, planner, fencer, manager, ...), and
// the interfaces it runs against. Everything here except core/live is
// sans-I/O: state machines receive inputs with the current time and return
// effects. core/live holds the real implementations (processes, files,
// clock) that the production daemons use; the simulator provides the
// others. purity_test.go in this directory enforces the rule.
package core
