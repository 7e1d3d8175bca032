package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/seosgw/seosgw/gateway/buildinfo"

	"github.com/seosgw/seosgw/gateway/config"
	"github.com/seosgw/seosgw/integration/conformance"
	"github.com/seosgw/seosgw/register/testregister"
)

// The harness has its own configuration (configs/conformance.example.yaml),
// not the node's: its --config has no default.
func conformanceVerbs() map[string]command {
	return map[string]command{
		"run": {args: "--config FILE --participant GUID [--target URL] [--report-dir DIR] [--skip CHECKS] [--record] [--lang bg|en] [--pdf] [--tested-by NAME] [--every DURATION --until DATE]",
			summary: "test a joining participant's SEOS node as DAEU's test participant", run: conformanceRun,
			help: "checks: " + strings.Join(conformance.CheckNames, ", ") + "\n\nExit 0: passed; 1: a check failed; 2: bad arguments or the harness could not test; 3: nothing failed but checks were skipped."},
		"cases": {args: "(--register-db FILE | --config FILE) [--holidays FILE] [--all] [--json]",
			summary: "participants under test with their 14-working-day deadline and last verdict", run: conformanceCases},
	}
}

// conformanceRun exits 0 when the participant passed, 1 when a check
// failed, 2 on bad arguments or when the harness could not test, 3 when
// nothing failed but checks were skipped. With --every, the last run's.
func conformanceRun(ctx context.Context, args []string, io stdio) int {
	fs := io.flags()
	cfgPath := fs.String("config", "", "the harness's configuration file (see configs/conformance.example.yaml); required")
	participant := fs.String("participant", "", "register GUID of the participant under test")
	target := fs.String("target", "", "the participant's endpoint URL (default: the URI the register lists)")
	reportDir := fs.String("report-dir", "", "folder for the reports and the run history (default: report_dir of the config)")
	skip := fs.String("skip", "", "comma-separated checks not to run, e.g. async-status,async-document")
	record := fs.Bool("record", false, "record the verdict on the participant's joining case in the test register")
	registerDB := fs.String("register-db", "", "the test register's database (default: joining.register_db of the config)")
	asyncTimeout := fs.String("async-timeout", "", "how long to wait for the participant's asynchronous messages (default: timeouts.async)")
	every := fs.String("every", "", "rerun the suite this often (e.g. 6h), with --until")
	until := fs.String("until", "", "last day (YYYY-MM-DD, Bulgarian time) or instant (RFC 3339) a scheduled run may start")
	lang := fs.String("lang", "", "language of the report: bg (Bulgarian) or en (English) (default: language of the config, bg)")
	pdf := fs.Bool("pdf", false, "also print report.pdf with Debian's chromium (apt-get install chromium)")
	testedBy := fs.String("tested-by", "", "the DAEU official running the test, for the report's sign-off block")
	if code, ok := io.parseNoArgs(fs, args); !ok {
		return code
	}
	if *cfgPath == "" || *participant == "" {
		return io.usageError(fs, "--config FILE and --participant GUID are required")
	}
	cfg, err := conformance.LoadConfig(*cfgPath)
	if err != nil {
		fmt.Fprintln(io.err, err)
		return 2
	}
	if *registerDB != "" {
		// A path on the command line is the shell's: from the working
		// folder, not from the config file's folder as joining.register_db.
		abs, err := filepath.Abs(*registerDB)
		if err != nil {
			fmt.Fprintf(io.err, "seosgw conformance run: --register-db: %v\n", err)
			return 2
		}
		cfg.Joining.RegisterDB = abs
	}
	if *asyncTimeout != "" {
		d, err := config.ParseDuration(*asyncTimeout)
		if err != nil || d <= 0 {
			fmt.Fprintf(io.err, "seosgw conformance run: --async-timeout: %q is not a positive duration\n", *asyncTimeout)
			return 2
		}
		cfg.Timeouts.Async = d
	}
	opt := conformance.Options{Config: cfg, Participant: *participant, Target: *target, ReportDir: *reportDir, Record: *record, Out: io.out,
		PDF: *pdf, TestedBy: *testedBy, Build: conformance.BuildOf(buildinfo.Get())}
	if *lang != "" {
		l, err := conformance.ParseLang(*lang)
		if err != nil {
			fmt.Fprintf(io.err, "seosgw conformance run: --lang: %v\n", err)
			return 2
		}
		opt.Lang = l
	}
	if *pdf {
		// Before a run that may take half an hour, not after it.
		if _, err := conformance.FindChromium(); err != nil {
			fmt.Fprintf(io.err, "seosgw conformance run: --pdf: %v\n", err)
			return 2
		}
	}
	if *skip != "" {
		opt.Skip = strings.Split(*skip, ",")
		if err := conformance.ValidateSkip(opt.Skip); err != nil {
			fmt.Fprintf(io.err, "seosgw conformance run: --skip: %v\n", err)
			return 2
		}
	}
	var rep *conformance.Report
	switch {
	case *every == "" && *until == "":
		rep, err = conformance.Run(ctx, opt)
	case *every == "" || *until == "":
		fmt.Fprintln(io.err, "seosgw conformance run: --every and --until go together")
		return 2
	default:
		d, derr := config.ParseDuration(*every)
		u, uerr := conformance.ParseUntil(*until)
		if derr != nil || d <= 0 || uerr != nil {
			fmt.Fprintf(io.err, "seosgw conformance run: --every %q / --until %q: give a duration such as 6h and a date such as 2026-12-15\n", *every, *until)
			return 2
		}
		rep, err = conformance.Schedule(ctx, opt, d.D(), u)
	}
	if err != nil {
		// Whatever the verdict, a run whose report, history or recorded
		// verdict could not be written did not do its job.
		fmt.Fprintf(io.err, "seosgw conformance run: %v\n", err)
		return 2
	}
	return rep.Verdict.ExitCode()
}

func conformanceCases(ctx context.Context, args []string, io stdio) int {
	fs := io.flags()
	dbPath := fs.String("register-db", "", "the test register's database")
	cfgPath := fs.String("config", "", "a conformance configuration naming joining.register_db and joining.holidays")
	holidays := fs.String("holidays", "", "working-day overrides file (decree days) for the deadlines")
	all := fs.Bool("all", false, "list closed cases too")
	asJSON := fs.Bool("json", false, "JSON instead of a table")
	if code, ok := io.parseNoArgs(fs, args); !ok {
		return code
	}
	if *cfgPath != "" {
		cfg, err := conformance.LoadConfig(*cfgPath)
		if err != nil {
			fmt.Fprintln(io.err, err)
			return 2
		}
		if *dbPath == "" {
			*dbPath = cfg.Path(cfg.Joining.RegisterDB)
		}
		if *holidays == "" {
			*holidays = cfg.Path(cfg.Joining.Holidays)
		}
	}
	if *dbPath == "" {
		return io.usageError(fs, "--register-db FILE (or --config FILE with joining.register_db) is required")
	}
	reg, err := testregister.OpenWithHolidays(ctx, *dbPath, *holidays, testregister.Options{Existing: true})
	if err != nil {
		return fail(io, "conformance cases: %v", err)
	}
	defer reg.Close()
	cs, err := reg.Cases(ctx, !*all)
	if err != nil {
		return fail(io, "conformance cases: %v", err)
	}
	if *asJSON {
		err = testregister.WriteCasesJSON(io.out, cs)
	} else {
		err = testregister.WriteCases(io.out, cs)
		if len(cs) == 0 {
			fmt.Fprintln(io.err, "no open joining cases (open one with: seosgw register admin case open GUID --applied DATE)")
		}
	}
	if err != nil {
		return fail(io, "conformance cases: %v", err)
	}
	return 0
}
