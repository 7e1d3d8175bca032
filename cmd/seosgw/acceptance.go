package main

import (
	"context"
	"encoding/json"
	"fmt"
	goio "io"
	"log/slog"

	"github.com/seosgw/seosgw/gateway/acceptance"
	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/gateway/config"
	"github.com/seosgw/seosgw/gateway/node"
	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/textsafe"
)

func acceptanceVerbs() map[string]command {
	return map[string]command{
		"check": {args: "[--config FILE] [--rules FILE] [--lang en|bg|latin] [--json] FILE.xml | ATTACHMENT...",
			summary: "judge a SEOS registration request or attachment files offline", run: acceptanceCheck,
			help: "Runs the acceptance policy on a SEOS registration request, or on attachment files (with --kind,\n" +
				"--about, --comment, --sender-eik), and prints every check. The rules are the file --rules names,\n" +
				"else the one acceptance.rules names in the node configuration (--config).\n" +
				"Exit status: 0 accept, 3 hold, 4 reject, 1 error, 2 usage."},
	}
}

// Exit codes of `acceptance check`, so scripts can tell outcomes apart.
const (
	exitAccept = 0
	exitHold   = 3
	exitReject = 4
)

func acceptanceCheck(ctx context.Context, args []string, io stdio) int {
	fs := io.flags()
	cfgPath := configFlag(fs)
	rules := fs.String("rules", "", "acceptance rules file (see configs/acceptance.maritime.example.yaml); default: acceptance.rules of --config")
	lang := enumFlag(fs, "lang", "en", "language of the reasons", "en", "bg", "latin")
	asJSON := fs.Bool("json", false, "print the verdict as JSON (as stored and shown in the AIS API)")
	kind := fs.String("kind", "Писмо", "DocKind, when checking attachment files")
	about := fs.String("about", "", "DocAbout text, when checking attachment files")
	comment := fs.String("comment", "", "Comment text, when checking attachment files")
	eik := fs.String("sender-eik", "", "the sending administration's EIK, when checking attachment files")
	paths, code, ok := io.parse(fs, args)
	if !ok {
		return code
	}
	if len(paths) == 0 {
		return io.usageError(fs, "give a FILE.xml or attachment files")
	}
	logger := slog.New(slog.NewTextHandler(io.err, &slog.HandlerOptions{Level: slog.LevelWarn}))
	var policy *acceptance.Policy
	var err error
	if *rules != "" {
		policy, err = acceptance.Load(*rules, acceptance.WithLogger(logger))
	} else {
		policy, err = configuredPolicy(*cfgPath, logger)
	}
	if err != nil {
		return fail(io, "%s", textsafe.Text(err.Error()))
	}
	in, closeAll, err := checkInput(paths, *kind, *about, *comment, *eik, io)
	if err != nil {
		return fail(io, "%s", textsafe.Text(err.Error()))
	}
	defer closeAll()
	v := policy.Evaluate(ctx, in)
	if *asJSON {
		enc := json.NewEncoder(io.out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(v); err != nil {
			return fail(io, "%v", err)
		}
	} else if err := v.WriteTable(io.out, *lang); err != nil {
		return fail(io, "%v", err)
	}
	switch v.Outcome {
	case acceptance.Reject:
		return exitReject
	case acceptance.Hold:
		return exitHold
	}
	return exitAccept
}

// checkInput reads one SEOS registration request, or else takes every
// argument as an attachment file.
func checkInput(paths []string, kind, about, comment, eik string, io stdio) (acceptance.Input, func(), error) {
	if len(paths) == 1 {
		if b, _, err := readInput(paths, io); err == nil {
			if m, _, err := seos.Parse(b); err == nil {
				in, err := acceptance.FromMessage(m)
				return in, func() {}, err
			}
		}
	}
	in := acceptance.Input{DocKind: kind, DocAbout: about, Comment: comment, Sender: acceptance.Sender{EIK: eik}}
	var closers []goio.Closer
	closeAll := func() {
		for _, c := range closers {
			c.Close()
		}
	}
	for _, p := range paths {
		a, c, err := acceptance.OpenAttachment(p, "")
		if err != nil {
			closeAll()
			return in, nil, err
		}
		closers = append(closers, c)
		in.Attachments = append(in.Attachments, a)
	}
	return in, closeAll, nil
}

// configuredPolicy loads the rules the node configuration names, as serve
// does.
func configuredPolicy(path string, log *slog.Logger) (*acceptance.Policy, error) {
	cfg, err := config.Load(path)
	if err != nil {
		return nil, err
	}
	if cfg.Acceptance.Rules == "" {
		return nil, fmt.Errorf("%s sets no acceptance.rules; give the rules file with --rules FILE", path)
	}
	return node.AcceptancePolicy(cfg, clock.System, log, nil)
}
