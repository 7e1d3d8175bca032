package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/seosgw/seosgw/gateway/textsafe"
)

// defaultConfig is the node configuration every verb reads unless told
// otherwise; the package and the systemd unit use the same path.
const defaultConfig = "/etc/seosgw/seosgw.yaml"

// command is a node of the command tree: a group of verbs or a leaf that
// runs. Every one prints its usage for -h/--help on stdout and exits 0;
// a usage mistake prints the usage on stderr and exits 2.
type command struct {
	args    string // what follows the name in the usage line, e.g. "[--config FILE] [--json] ID"
	summary string // one line: what it does
	help    string // optional paragraph under the summary
	run     func(ctx context.Context, args []string, io stdio) int
	verbs   map[string]command // a group's verbs
}

// stdio is where a command reads and writes (tests pass buffers), and
// which command it is, for its usage.
type stdio struct {
	in       io.Reader
	out, err io.Writer
	name     string // e.g. "seosgw log list"
	spec     command
}

func isHelp(arg string) bool {
	return arg == "-h" || arg == "--help" || arg == "-help" || arg == "help"
}

// dispatch runs c, or one of its verbs, as name.
func dispatch(ctx context.Context, name string, c command, args []string, io stdio) int {
	io.name, io.spec = name, c
	if c.verbs == nil {
		return c.run(ctx, args, io)
	}
	switch {
	case len(args) == 0:
		io.groupUsage(io.err)
		return 2
	case isHelp(args[0]):
		io.groupUsage(io.out)
		return 0
	}
	v, ok := c.verbs[args[0]]
	if !ok {
		fmt.Fprintf(io.err, "%s: unknown %s %q\n\n", name, map[bool]string{true: "command", false: "verb"}[name == "seosgw"], args[0])
		io.groupUsage(io.err)
		return 2
	}
	return dispatch(ctx, name+" "+args[0], v, args[1:], io)
}

func (s stdio) groupUsage(w io.Writer) {
	names := make([]string, 0, len(s.spec.verbs))
	width := 0
	for n := range s.spec.verbs {
		names = append(names, n)
		width = max(width, len(n))
	}
	sort.Strings(names)
	var b strings.Builder
	fmt.Fprintf(&b, "usage: %s %s\n\n%s.\n", s.name, s.spec.args, sentence(s.spec.summary))
	if s.spec.help != "" {
		fmt.Fprintf(&b, "\n%s\n", s.spec.help)
	}
	word := "verbs"
	if s.name == "seosgw" {
		word = "commands"
	}
	fmt.Fprintf(&b, "\n%s:\n", word)
	for _, n := range names {
		fmt.Fprintf(&b, "  %-*s  %s\n", width, n, s.spec.verbs[n].summary)
	}
	fmt.Fprintf(&b, "\n%s %s -h shows its usage and flags.\n", s.name, strings.TrimSuffix(strings.ToUpper(word), "S"))
	io.WriteString(w, b.String())
}

func sentence(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// flags starts the flag set of a leaf command; parse reads it.
func (s stdio) flags() *flag.FlagSet {
	fs := flag.NewFlagSet(s.name, flag.ContinueOnError)
	fs.SetOutput(s.err)
	fs.Usage = func() {} // parse prints the usage, on the right stream
	return fs
}

// parse reads the flags, which may come before, between or after the
// positional arguments. Not ok: return code (0 after -h, 2 after a bad
// flag, whose error flag has printed).
func (s stdio) parse(fs *flag.FlagSet, args []string) (pos []string, code int, ok bool) {
	pos, err := parseArgs(fs, args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		s.usage(s.out, fs)
		return nil, 0, false
	case err != nil:
		fmt.Fprintln(s.err)
		s.usage(s.err, fs)
		return nil, 2, false
	}
	return pos, 0, true
}

// parseNoArgs is parse for a command that takes flags only.
func (s stdio) parseNoArgs(fs *flag.FlagSet, args []string) (code int, ok bool) {
	pos, code, ok := s.parse(fs, args)
	if ok && len(pos) > 0 {
		return s.usageError(fs, "unexpected argument %q", pos[0]), false
	}
	return code, ok
}

// parseOne is parse for a command that takes one argument, named what.
func (s stdio) parseOne(fs *flag.FlagSet, args []string, what string) (arg string, code int, ok bool) {
	pos, code, ok := s.parse(fs, args)
	if ok && len(pos) != 1 {
		return "", s.usageError(fs, "give %s", what), false
	}
	if !ok {
		return "", code, false
	}
	return pos[0], 0, true
}

// usageError says what is wrong with the arguments, then the usage: exit 2.
func (s stdio) usageError(fs *flag.FlagSet, format string, args ...any) int {
	fmt.Fprintf(s.err, "%s: %s\n\n", s.name, fmt.Sprintf(format, args...))
	s.usage(s.err, fs)
	return 2
}

func (s stdio) usage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintf(w, "usage: %s %s\n\n%s.\n", s.name, s.spec.args, sentence(s.spec.summary))
	if s.spec.help != "" {
		fmt.Fprintf(w, "\n%s\n", s.spec.help)
	}
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	if n > 0 {
		fmt.Fprintln(w, "\nflags:")
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(s.err)
	}
}

// parseArgs parses flags that may come before, between or after the
// positional arguments ("set-status GUID Active --db f"), which flag alone
// stops at. Everything after "--" is positional.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// configFlag is --config with the one default every verb shares.
func configFlag(fs *flag.FlagSet) *string {
	return fs.String("config", defaultConfig, "seosgw configuration file")
}

// enum is a flag whose value must be one of a fixed set; the empty value
// is allowed only when it is the default (no filter).
type enum struct {
	val     *string
	allowed []string
}

func (e enum) String() string {
	if e.val == nil {
		return ""
	}
	return *e.val
}

func (e enum) Set(s string) error {
	if !slices.Contains(e.allowed, s) {
		return fmt.Errorf("%q is not one of %s", s, strings.Join(e.allowed, ", "))
	}
	*e.val = s
	return nil
}

// enumFlag defines a flag that takes one of allowed.
func enumFlag(fs *flag.FlagSet, name, def, usage string, allowed ...string) *string {
	v := def
	if def == "" {
		allowed = append(slices.Clone(allowed), "")
	}
	shown := slices.DeleteFunc(slices.Clone(allowed), func(s string) bool { return s == "" })
	fs.Var(enum{&v, allowed}, name, usage+" (one of `"+strings.Join(shown, "|")+"`)")
	return &v
}

// fail prints a failure: exit 1. Errors carry text from peers, the
// register or the AIS, so the message goes through the sanitiser.
func fail(io stdio, format string, args ...any) int {
	fmt.Fprintln(io.err, textsafe.Text(fmt.Sprintf(format, args...)))
	return 1
}

// readInput reads FILE, or standard input when no file (or "-") is given.
func readInput(args []string, io stdio) ([]byte, string, error) {
	switch {
	case len(args) > 1:
		return nil, "", fmt.Errorf("expected at most one FILE, got %d arguments", len(args))
	case len(args) == 0 || args[0] == "-":
		b, err := readAllLimited(io.in)
		return b, "stdin", err
	default:
		f, err := os.Open(args[0])
		if err != nil {
			return nil, args[0], err
		}
		defer f.Close()
		b, err := readAllLimited(f)
		return b, args[0], err
	}
}

// maxInput bounds what the CLI reads; SEOS messages are at most tens of MiB.
const maxInput = 256 << 20

func readAllLimited(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxInput+1))
	if err == nil && len(b) > maxInput {
		return nil, fmt.Errorf("input larger than %d MiB", maxInput>>20)
	}
	return b, err
}
