package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/pflag"

	"github.com/basalt-ha/basalt/core/model"
)

// validate loads each configuration and prints its summary and warnings, or
// every error with its line. Exit 1 when any file is invalid, 2 on a usage
// error.
func validate(args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("validate", pflag.ContinueOnError)
	// pflag would print the error and then the whole flag list; a usage
	// error here is one line, and --help prints the list to stdout.
	fs.SetOutput(io.Discard)
	configs := fs.StringArrayP("config", "c", nil, "configuration file (repeatable)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			fmt.Fprintln(stdout, "usage: basalt validate --config FILE [--config FILE ...]")
			fs.SetOutput(stdout)
			fs.PrintDefaults()
			return 0
		}
		fmt.Fprintf(stderr, "basalt validate: %v\n", err)
		return 2
	}
	files := append(*configs, fs.Args()...)
	if len(files) == 0 {
		fmt.Fprintln(stderr, "basalt validate: --config FILE is required")
		return 2
	}
	rc := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			// The *PathError already names the file; keep only its cause so
			// the line reads "FILE: cannot read: no such file or directory".
			cause := err
			var pe *os.PathError
			if errors.As(err, &pe) {
				cause = pe.Err
			}
			fmt.Fprintf(stdout, "%s: cannot read: %v\n", f, cause)
			rc = 1
			continue
		}
		m, err := model.Load(f, data)
		if err != nil {
			fmt.Fprintln(stdout, err)
			rc = 1
			continue
		}
		fmt.Fprintf(stdout, "%s: valid\n%s", f, m.Summary())
		// After the summary, so that they are the last thing read; they
		// do not change the exit status, which says only "valid".
		for _, w := range m.Warnings {
			fmt.Fprintln(stdout, w.Warning())
		}
	}
	return rc
}
