package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/basalt-ha/basalt/cmd/internal/subcmd"
	"github.com/basalt-ha/basalt/core/model"
)

// validate loads each configuration and prints its summary and warnings, or
// every error with its line. Exit 1 when any file is invalid, 2 on a usage
// error.
func validate(args []string, stdout, stderr io.Writer) int {
	fs := subcmd.NewFlags("basalt validate", "--config FILE [--config FILE ...]",
		"Check configuration files: each valid one's summary and warnings, or every error with its line.\nExit 1 when any file is invalid.")
	configs := fs.StringArrayP("config", "c", nil, "configuration file (repeatable; files may also follow as arguments)")
	if ok, rc := fs.Parse(args, stdout, stderr); !ok {
		return rc
	}
	files := append(*configs, fs.Args()...)
	if len(files) == 0 {
		return fs.Mistake(stderr, "--config FILE is required")
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
