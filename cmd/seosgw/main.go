// Command seosgw is the SEOS participant gateway and its operator tools.
// main only parses flags and wires packages together; behaviour lives in
// gateway/ and register/.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	_ "time/tzdata" // Europe/Sofia without depending on the host's zoneinfo
)

// stdio is where a command reads and writes; tests pass buffers.
type stdio struct {
	in       io.Reader
	out, err io.Writer
}

type command struct {
	summary string
	run     func(ctx context.Context, args []string, io stdio) int
}

func commands() map[string]command {
	return map[string]command{
		"message":   {"validate, sign, verify and show SEOS messages", runMessage},
		"register":  {"participant register: sync, list, show; a test register (serve, admin)", runRegister},
		"serve":     {"run the participant node: serve --config FILE", runServe},
		"preflight": {"check the VPN/EESMDANS path, DNS, TLS to the register and our certificate: preflight --config FILE", runPreflight},
		"log":       {"read the message log: log list|show", runLog},
		"send":      {"send a document through the local AIS API: send --config FILE [--idempotency-key K] DOCUMENT.json", runSend},
		"status":    {"show a sent document's state and history: status --config FILE [--json] ID", runStatus},
		"demo":      {"two gateways exchange a document end to end on loopback: demo [--keep]", runDemo},

		"conformance": {"DAEU's conformance test of a joining participant: conformance run|cases", runConformance},
		"acceptance":  {"an administration's acceptance rules, offline: acceptance check [--rules FILE] FILE.xml|ATTACHMENT...", runAcceptance},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], stdio{os.Stdin, os.Stdout, os.Stderr})
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, io stdio) int {
	cmds := commands()
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(io.err, cmds)
		return 2
	}
	c, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(io.err, "seosgw: unknown command %q\n", args[0])
		usage(io.err, cmds)
		return 2
	}
	return c.run(ctx, args[1:], io)
}

func usage(w io.Writer, cmds map[string]command) {
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("usage: seosgw COMMAND [ARGS]\n\ncommands:\n")
	for _, n := range names {
		fmt.Fprintf(&b, "  %-12s %s\n", n, cmds[n].summary)
	}
	b.WriteString("\nseosgw COMMAND -h shows a command's options.\n")
	io.WriteString(w, b.String())
}

// subcommands dispatches "seosgw GROUP VERB ..." to verbs.
func subcommands(group string, verbs map[string]command) func(context.Context, []string, stdio) int {
	return func(ctx context.Context, args []string, io stdio) int {
		if len(args) > 0 {
			if v, ok := verbs[args[0]]; ok {
				return v.run(ctx, args[1:], io)
			}
			if args[0] != "-h" && args[0] != "--help" {
				fmt.Fprintf(io.err, "seosgw %s: unknown verb %q\n", group, args[0])
			}
		}
		names := make([]string, 0, len(verbs))
		for n := range verbs {
			names = append(names, n)
		}
		sort.Strings(names)
		fmt.Fprintf(io.err, "usage: seosgw %s VERB [ARGS]\n\n", group)
		for _, n := range names {
			fmt.Fprintf(io.err, "  %-10s %s\n", n, verbs[n].summary)
		}
		return 2
	}
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
