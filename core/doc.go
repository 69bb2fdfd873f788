// Package core holds Basalt's deterministic decision-making logic, one
// package per concept (ocf, lrm, model, planner, fencer, manager, ...), and
// the interfaces it runs against. Everything here is sans-I/O: state
// machines receive inputs with the current time and return effects. The two
// drivers interpret those effects: sim/ on virtual time, live/ with real
// processes, files, sockets and the clock. purity_test.go in this directory
// enforces the rule.
package core
