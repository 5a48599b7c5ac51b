package netstart

import (
	"github.com/spf13/cobra"

	"carpfw/internal/cli"
)

// Command is the "netstart" subcommand of a ctl tool: use, short and long
// are its help, checkName vets each interface named on the command line,
// dir resolves the run directory and driver adapts netstart to the tool's
// interfaces there. A file that fails makes the command exit 1 after its
// messages.
func Command(use, short, long, prefix string, checkName func(string) error, dir func() (string, error), driver func(dir string) Driver) *cobra.Command {
	opts := Options{}
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Long:  long,
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, a := range args {
				if err := checkName(a); err != nil {
					return err
				}
			}
			d, err := dir()
			if err != nil {
				return err
			}
			opts.Names, opts.Stdout, opts.Stderr = args, cmd.OutOrStdout(), cmd.ErrOrStderr()
			if err := Run(cmd.Context(), driver(d), opts); err != nil {
				return cli.Exit(1)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&opts.Dir, "dir", "/etc", "read hostname."+prefix+"N files from `dir`")
	cmd.Flags().BoolVarP(&opts.DryRun, "noaction", "n", false, "print the commands instead of running them")
	return cmd
}
