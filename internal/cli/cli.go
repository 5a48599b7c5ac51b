// Package cli holds the plumbing shared by the three commands: how a cobra
// command is run, how its error becomes one line on stderr, and which exit
// status it returns.
//
// The conventions follow pfctl(8) and ifconfig(8): data goes to stdout,
// diagnostics to stderr prefixed with the program name ("pfconf: ..."),
// exit status 0 on success, 1 on usage and operational errors, and other
// codes only where the OpenBSD tool defines them (pfctl -T test exits 2).
package cli

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
)

// ExitError carries an exit status with an error. A nil Err means the
// diagnostics were already printed (for example pf.conf syntax errors, which
// are reported one per line as they are found) and only the status remains.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// Exit returns an ExitError with code and no message of its own.
func Exit(code int) error { return &ExitError{Code: code} }

// Errorf returns an ExitError with status 1 and a formatted message.
func Errorf(format string, a ...any) error {
	return &ExitError{Code: 1, Err: fmt.Errorf(format, a...)}
}

// Prepare sets the options every command of this project shares: cobra
// prints neither usage nor errors (Run does, in one line), and flag errors
// are returned as they are.
func Prepare(cmd *cobra.Command) {
	cmd.SilenceUsage = true
	cmd.SilenceErrors = true
	cmd.CompletionOptions.DisableDefaultCmd = true
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return err })
}

// Run executes cmd with args, prints a failure as one "prog: message" line
// on stderr and returns the exit status.
func Run(cmd *cobra.Command, args []string, stdout, stderr io.Writer) int {
	Prepare(cmd)
	cmd.SetArgs(args)
	cmd.SetOut(stdout)
	cmd.SetErr(stderr)
	err := cmd.Execute()
	if err == nil {
		return 0
	}
	code := 1
	var ee *ExitError
	if errors.As(err, &ee) {
		code = ee.Code
		if ee.Err == nil {
			return code
		}
	}
	fmt.Fprintf(stderr, "%s: %v\n", cmd.Name(), err)
	return code
}

// Main runs cmd on the process's arguments and exits with its status.
func Main(cmd *cobra.Command) {
	os.Exit(Run(cmd, os.Args[1:], os.Stdout, os.Stderr))
}
