package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

// options are pfconf's flags, named after pfctl(8)'s.
type options struct {
	anchor    string   // -a: operate on this anchor
	defines   []string // -D macro=value
	disable   bool     // -d
	enable    bool     // -e
	flush     string   // -F modifier
	file      string   // -f file, "-" for stdin
	noAction  bool     // -n
	optimize  string   // -o none|basic
	quiet     bool     // -q
	show      string   // -s modifier
	table     string   // -t table
	tableCmd  string   // -T command
	verbose   int      // -v, -vv
	printNft  bool     // --print-nft
	strict    bool     // --strict
	json      bool     // --json
	tableArgs []string // addresses after -T command
}

const usageLine = `pfconf [-denqv] [-a anchor] [-D macro=value] [-F modifier] [-f file]
       [-o level] [-s modifier] [-t table -T command [address ...]]
       [--print-nft] [--strict] [--json]`

func newRootCmd() *cobra.Command {
	var o options
	cmd := &cobra.Command{
		Use:                   usageLine,
		DisableFlagsInUseLine: true,
		Short:                 "load pf.conf rules into nftables and control them, like pfctl(8)",
		Long: `pfconf reads an OpenBSD pf.conf(5) ruleset, prints it normalised as pfctl -nv
does, compiles it to nftables and loads it in one atomic netlink batch into the
tables pfconf owns (no other table is touched). It also shows and edits what is
loaded: rules with counters, states (from conntrack), tables and labels.

A failed load, at parse, compile or kernel time, changes nothing: the running
ruleset stays as it was. Parse errors are printed as "file:line: message", one
per line, and the exit status is 1.

Modifiers of -s, -F and -T may be abbreviated to a unique prefix, as in pfctl:
-sr is -s rules, -sT is -s Tables.`,
		Example: `  pfconf -nvf /etc/pf.conf          check and print the ruleset, load nothing
  pfconf -f /etc/pf.conf            load it atomically
  pfconf -n --print-nft -f pf.conf  print the nftables ruleset that would be loaded
  pfconf -sr -v                     show loaded rules with counters
  pfconf -t bad -T add 192.0.2.7    add an address to table <bad>`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 && o.tableCmd == "" {
				return fmt.Errorf("unexpected argument %q (addresses only follow -T)", args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			o.tableArgs = args
			return run(cmd, &o)
		},
	}
	f := cmd.Flags()
	f.SortFlags = false
	f.StringVarP(&o.file, "file", "f", "", "load the rules in `file` (\"-\" reads stdin)")
	f.BoolVarP(&o.noAction, "noaction", "n", false, "parse and check only; never touch the kernel")
	f.CountVarP(&o.verbose, "verbose", "v", "print the normalised rules; -vv adds rule numbers (@N)")
	f.StringVarP(&o.optimize, "optimize", "o", "basic", "ruleset optimiser `level`: none or basic")
	f.StringArrayVarP(&o.defines, "define", "D", nil, "define `macro=value`, overriding pf.conf")
	f.StringVarP(&o.anchor, "anchor", "a", "", "operate on `anchor` (its chains and tables) only")
	f.StringVarP(&o.show, "show", "s", "", "show `modifier`: rules, states, info, labels, Tables, all")
	f.StringVarP(&o.flush, "flush", "F", "", "flush `modifier`: rules, states, Tables, all")
	f.StringVarP(&o.table, "table", "t", "", "the `table` a -T command applies to")
	f.StringVarP(&o.tableCmd, "tablecmd", "T", "", "table `command`: show, add, delete, flush, replace, test")
	f.BoolVarP(&o.enable, "enable", "e", false, "enable the loaded ruleset")
	f.BoolVarP(&o.disable, "disable", "d", false, "disable filtering, keeping the loaded ruleset")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "suppress informational messages on stderr")
	f.BoolVar(&o.printNft, "print-nft", false, "print the nftables ruleset that -f would load")
	f.BoolVar(&o.strict, "strict", false, "treat every Linux-compatibility warning as an error")
	f.BoolVar(&o.json, "json", false, "print -s output as JSON")
	cmd.AddCommand(newWorkerCmd())
	return cmd
}

func run(cmd *cobra.Command, o *options) error {
	var err error
	if o.optimize, err = modifier("-o", o.optimize, optimizeLevels); err != nil {
		return err
	}
	if o.show != "" {
		if o.show, err = modifier("-s", o.show, showModifiers); err != nil {
			return err
		}
	}
	if o.flush != "" {
		if o.flush, err = modifier("-F", o.flush, flushModifiers); err != nil {
			return err
		}
	}
	if o.tableCmd != "" {
		if o.table == "" {
			return fmt.Errorf("-T requires -t table")
		}
		if o.tableCmd, err = modifier("-T", o.tableCmd, tableCommands); err != nil {
			return err
		}
	}
	if o.file == "" && o.show == "" && o.flush == "" && o.tableCmd == "" && !o.enable && !o.disable {
		return fmt.Errorf("nothing to do; see pfconf --help")
	}
	if o.anchor != "" {
		o.anchor = strings.Trim(o.anchor, "/")
		if o.anchor == "" || o.enable || o.disable ||
			o.show != "" && o.show != "rules" && o.show != "Tables" || o.flush != "" && o.flush != "rules" {
			return fmt.Errorf("-a applies to -f, -s rules, -s Tables, -F rules and -t only")
		}
	}
	if o.file != "" && o.noAction {
		if o.printNft {
			return printNft(cmd, o)
		}
		if err := parseOnly(cmd, o); err != nil || !o.strict {
			return err
		}
		// --strict: also compile, so Linux-compatibility warnings fail.
		_, _, err := compileFile(cmd, o)
		return err
	}
	return runtimeCmds(cmd, o)
}

// stdinName is the file name pfctl uses in messages about rules read from stdin.
const stdinName = "stdin"

// openRules opens the -f argument.
func openRules(name string) (*os.File, string, error) {
	if name == "-" {
		return os.Stdin, stdinName, nil
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, "", err
	}
	return f, name, nil
}
