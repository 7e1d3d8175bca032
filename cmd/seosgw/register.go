package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/gateway/config"
	"github.com/seosgw/seosgw/gateway/node"
	"github.com/seosgw/seosgw/gateway/pki"
	"github.com/seosgw/seosgw/gateway/store"
	"github.com/seosgw/seosgw/gateway/trust"
	"github.com/seosgw/seosgw/register"
	"github.com/seosgw/seosgw/register/daeu"
	"github.com/seosgw/seosgw/register/testregister"
)

func registerVerbs() map[string]command {
	return map[string]command{
		"sync": {args: "[--config FILE] [--full]", summary: "sync the node's register copy once and print what changed", run: registerSync},
		"list": {args: "[--config FILE] [--status S] [--json]", summary: "list the node's register copy", run: registerList},
		"show": {args: "[--config FILE] [--ask] GUID|EIK|SERIAL", summary: "show participants by GUID, EIK or certificate serial, and whether we may exchange",
			run: registerShow},
		"serve": {args: "--db FILE --tls-cert F --tls-key F --client-ca F [--listen ADDR] [--public-url URL] [--holidays F] [--log-format json|text]", summary: "run a test register", run: registerServe},
		"admin": {args: "VERB --db FILE ...", summary: "administer a test register's database", verbs: adminVerbs()},
	}
}

// nodeCache opens the gateway database named by a config file.
func nodeCache(ctx context.Context, path string) (*config.Config, *register.Cache, func(), error) {
	cfg, err := config.Load(path)
	if err != nil {
		return nil, nil, nil, err
	}
	db, err := store.OpenGateway(ctx, cfg.Path(cfg.Database.Path))
	if err != nil {
		return nil, nil, nil, err
	}
	return cfg, register.NewCache(db, clock.System), func() { db.Close() }, nil
}

func registerSync(ctx context.Context, args []string, io stdio) int {
	fs := io.flags()
	cfgPath := configFlag(fs)
	full := fs.Bool("full", false, "GetAllRecords even when an incremental sync is due")
	if code, ok := io.parseNoArgs(fs, args); !ok {
		return code
	}
	cfg, cache, closeDB, err := nodeCache(ctx, *cfgPath)
	if err != nil {
		return fail(io, "register sync: %v", err)
	}
	defer closeDB()
	client, log, err := registerClient(cfg, io)
	if err != nil {
		return fail(io, "register sync: %v", err)
	}
	defer client.CloseIdleConnections()
	opt := node.SyncOptions(cfg)
	opt.Log = log
	mode := register.Auto
	if *full {
		mode = register.Full
	}
	syncer := register.NewSyncer(cache, client, opt)
	ch, err := syncer.Sync(ctx, mode)
	st, serr := syncer.State(ctx)
	if err != nil {
		fmt.Fprintf(io.err, "register sync failed (%s): %v\nthe register copy is unchanged\n", register.ErrorKind(err), err)
		if serr == nil {
			_ = register.WriteState(io.err, st) // best effort: the failure is reported already
		}
		return 1
	}
	if err := register.WriteChanges(io.out, ch); err != nil {
		return fail(io, "register sync: %v", err)
	}
	if serr == nil && st.FullSyncOverdue {
		if err := register.WriteState(io.err, st); err != nil {
			return fail(io, "register sync: %v", err)
		}
	}
	return 0
}

// registerClient is the node's register client for a CLI command, whose
// outcome is printed: the log adds only what goes wrong besides.
func registerClient(cfg *config.Config, io stdio) (*daeu.Client, *slog.Logger, error) {
	log := slog.New(slog.NewTextHandler(io.err, &slog.HandlerOptions{Level: slog.LevelError}))
	id, ts, err := nodeTrust(cfg, log)
	if err != nil {
		return nil, nil, err
	}
	client, err := node.RegisterClient(cfg, id, ts, log)
	return client, log, err
}

// nodeTrust loads the node's transport certificate and trust store exactly
// as serve does, so the CLI judges the register's certificate the same way.
func nodeTrust(cfg *config.Config, log *slog.Logger) (*pki.Identity, *trust.Store, error) {
	return node.LoadTransport(cfg, clock.System, log, trust.NewMetrics(prometheus.NewRegistry()))
}

func registerList(ctx context.Context, args []string, io stdio) int {
	fs := io.flags()
	cfgPath := configFlag(fs)
	status := enumFlag(fs, "status", "", "only participants with this status", string(register.Active), string(register.Inactive),
		string(register.TemporarilyInactive), string(register.ListRemoved))
	asJSON := fs.Bool("json", false, "JSON instead of a table")
	if code, ok := io.parseNoArgs(fs, args); !ok {
		return code
	}
	_, cache, closeDB, err := nodeCache(ctx, *cfgPath)
	if err != nil {
		return fail(io, "register list: %v", err)
	}
	defer closeDB()
	es, err := cache.List(ctx, register.Status(*status))
	if err != nil {
		return fail(io, "register list: %v", err)
	}
	if *asJSON {
		err = register.WriteJSON(io.out, es)
	} else {
		err = register.WriteTable(io.out, es)
		if st, serr := cache.State(ctx); err == nil && serr == nil {
			err = register.WriteState(io.err, st)
		}
	}
	if err != nil {
		return fail(io, "register list: %v", err)
	}
	return 0
}

func registerShow(ctx context.Context, args []string, io stdio) int {
	fs := io.flags()
	cfgPath := configFlag(fs)
	ask := fs.Bool("ask", false, "also ask the register itself (GetByGuid, GetByEntityIdentifier, GetByCertificateSN) and show its answer")
	key, code, ok := io.parseOne(fs, args, "one GUID, EIK or certificate serial")
	if !ok {
		return code
	}
	cfg, cache, closeDB, err := nodeCache(ctx, *cfgPath)
	if err != nil {
		return fail(io, "register show: %v", err)
	}
	defer closeDB()
	es, err := cache.Lookup(ctx, key)
	if err != nil {
		return fail(io, "register show: %v", err)
	}
	if len(es) == 0 && !*ask {
		return fail(io, "register show: %s is not in the register copy (no GUID, EIK or certificate serial matches)", key)
	}
	self, err := cache.ByGUID(ctx, cfg.Participant.GUID)
	if err != nil {
		return fail(io, "register show: %v", err)
	}
	p := register.Policy{SelfGUID: cfg.Participant.GUID, TestParticipantGUID: cfg.Register.TestParticipant}
	if len(es) == 0 {
		fmt.Fprintf(io.out, "%s is not in the register copy\n", key)
	}
	for i, e := range es {
		if i > 0 {
			fmt.Fprintln(io.out)
		}
		d := p.MayExchange(self, e)
		if err := register.WriteEntity(io.out, e, &d); err != nil {
			return fail(io, "register show: %v", err)
		}
	}
	if !*ask {
		return 0
	}
	client, _, err := registerClient(cfg, io)
	if err != nil {
		return fail(io, "register show --ask: %v", err)
	}
	defer client.CloseIdleConnections()
	answers, err := register.Ask(ctx, cache, client, key)
	for _, a := range answers {
		if err := register.WriteAnswer(io.out, a); err != nil {
			return fail(io, "register show --ask: %v", err)
		}
	}
	if err != nil {
		return fail(io, "register show --ask: %v", err)
	}
	return 0
}

func registerServe(ctx context.Context, args []string, io stdio) int {
	fs := io.flags()
	var cfg testregister.ServeConfig
	fs.StringVar(&cfg.Listen, "listen", "127.0.0.1:8443", "host:port to listen on")
	dbPath := fs.String("db", "", "the test register's SQLite file (created if missing)")
	fs.StringVar(&cfg.CertFile, "tls-cert", "", "the register's server certificate (PEM)")
	fs.StringVar(&cfg.KeyFile, "tls-key", "", "its private key (PEM)")
	fs.StringVar(&cfg.ClientCAFile, "client-ca", "", "CA bundle that client certificates must chain to (PEM)")
	fs.StringVar(&cfg.PublicURL, "public-url", "", "address put into ?wsdl (default: the URL of the request)")
	holidays := fs.String("holidays", "", "working-day overrides file (decree days) for joining deadlines")
	logFormat := enumFlag(fs, "log-format", "json", "log format", "json", "text")
	if code, ok := io.parseNoArgs(fs, args); !ok {
		return code
	}
	for _, f := range []struct{ name, v string }{{"db", *dbPath}, {"tls-cert", cfg.CertFile}, {"tls-key", cfg.KeyFile}, {"client-ca", cfg.ClientCAFile}} {
		if f.v == "" {
			return io.usageError(fs, "--%s is required", f.name)
		}
	}
	var h slog.Handler = slog.NewJSONHandler(io.err, nil)
	if *logFormat == "text" {
		h = slog.NewTextHandler(io.err, nil)
	}
	cfg.Log = slog.New(h)
	reg, err := testregister.OpenWithHolidays(ctx, *dbPath, *holidays, testregister.Options{Log: cfg.Log})
	if err != nil {
		return fail(io, "register serve: %v", err)
	}
	defer reg.Close()
	err = reg.Serve(ctx, cfg, func(addr net.Addr) {
		fmt.Fprintf(io.out, "test register serving on https://%s/ (client certificates required)\n", addr)
	})
	if err != nil {
		return fail(io, "register serve: %v", err)
	}
	return 0
}

// adminRun is what an admin verb does with the open test register and
// its positional arguments.
type adminRun func(ctx context.Context, reg *testregister.Register, pos []string, io stdio) error

// admin makes an admin verb a command: its flags (declared by flags),
// --db and --holidays, then the register opened. reads: the verb only
// reads, so the database must exist already.
func admin(args, summary string, reads bool, flags func(fs *flag.FlagSet) adminRun) command {
	return command{args: args, summary: summary, run: func(ctx context.Context, args []string, io stdio) int {
		fs := io.flags()
		dbPath := fs.String("db", "", "the test register's SQLite file; required")
		holidays := fs.String("holidays", "", "working-day overrides file for joining deadlines")
		run := flags(fs)
		pos, code, ok := io.parse(fs, args)
		if !ok {
			return code
		}
		if *dbPath == "" {
			return io.usageError(fs, "--db FILE is required")
		}
		reg, err := testregister.OpenWithHolidays(ctx, *dbPath, *holidays, testregister.Options{Log: slog.New(slog.DiscardHandler), Existing: reads})
		if err != nil {
			return fail(io, "%s: %v", io.name, err)
		}
		defer reg.Close()
		if err := run(ctx, reg, pos, io); err != nil {
			var ue usageErr
			if errors.As(err, &ue) {
				return io.usageError(fs, "%s", ue.msg)
			}
			return fail(io, "%s: %v", io.name, err)
		}
		return 0
	}}
}

func adminVerbs() map[string]command {
	return map[string]command{
		"add": admin("--db FILE --guid G --eik E --name N [--status S] [--cert FILE|--serial HEX] [--uri URL] [--applied DATE [--cert-issued DATE]]",
			"enter a participant (with --applied, and a joining case)", false, adminAdd),
		"set-status": admin("--db FILE GUID Active|Inactive|TemporarilyInactive",
			"change a status (Inactive → Active only via activate)", false, adminSetStatus),
		"set-cert": admin("--db FILE GUID (--cert FILE | --serial HEX) [--issued DATE]",
			"change the transport certificate", false, adminSetCert),
		"set-service": admin("--db FILE GUID [--service G] [--uri URL] [--status S] [--name N] [--type T] [--version N] [--remove]",
			"add or change a service", false, adminSetService),
		"remove": admin("--db FILE GUID",
			"delete a participant (nodes mark it removed at their next full sync)", false, adminRemove),
		"list":   admin("--db FILE [--json]", "list participants", true, adminList),
		"export": admin("--db FILE [FILE]", "write the register as JSON (a FILE is replaced whole or not at all)", true, adminExport),
		"import": admin("--db FILE [--force] [--keep-last-change] [FILE]", "merge a JSON export into the register", false, adminImport),
		"activate": admin("--db FILE GUID [--force]",
			"make a participant Active after a passing joining verdict", false, adminActivate),
		"verdict": admin("--db FILE GUID pass|fail [--report PATH]", "record a joining test result", false, adminVerdict),
		"case": admin("--db FILE (open GUID --applied DATE [--cert-issued DATE] | cert-issued GUID DATE | withdraw GUID | show GUID | list [--all] [--json])",
			"joining cases", false, adminCase),
	}
}

// usageErr is an admin verb's complaint about its arguments: exit 2 with
// the usage.
type usageErr struct{ msg string }

func (e usageErr) Error() string { return e.msg }

func wantArgs(pos []string, n int, usage string) error {
	if len(pos) != n {
		return usageErr{fmt.Sprintf("want %d argument(s): %s", n, usage)}
	}
	return nil
}

func optDate(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	return testregister.Date(s)
}

// transportCert reads --serial or --cert (a certificate file, whose
// serial is taken and whose NotBefore is the issue date).
func transportCert(serial, certFile string) (string, time.Time, error) {
	switch {
	case serial != "" && certFile != "":
		return "", time.Time{}, errors.New("give --serial or --cert, not both")
	case certFile != "":
		return testregister.TransportCertFromFile(certFile)
	}
	return serial, time.Time{}, nil
}

func printEntity(io stdio, e *register.Entity) error {
	return register.WriteEntity(io.out, e, nil)
}

func adminAdd(fs *flag.FlagSet) adminRun {
	var e register.Entity
	fs.StringVar(&e.GUID, "guid", "", "register GUID in braces")
	fs.StringVar(&e.Identifier, "eik", "", "EIK/BULSTAT")
	fs.StringVar(&e.AdministrativeBodyName, "name", "", "administrative body name")
	fs.StringVar(&e.ParentGUID, "parent", "", "parent body's GUID")
	fs.StringVar(&e.Contact.Phone, "phone", "", "phone")
	fs.StringVar(&e.Contact.Fax, "fax", "", "fax")
	fs.StringVar(&e.Contact.EmailAddress, "email", "", "e-mail address")
	st := fs.String("status", "Inactive", "Active, Inactive or TemporarilyInactive (joining participants start Inactive)")
	serial := fs.String("serial", "", "transport certificate serial (hex)")
	certFile := fs.String("cert", "", "transport certificate file (PEM); its serial is registered")
	uri := fs.String("uri", "", "Submit endpoint URL: adds the document-exchange service, Active")
	applied := fs.String("applied", "", "application date YYYY-MM-DD: opens a joining case")
	issued := fs.String("cert-issued", "", "test certificate issue date YYYY-MM-DD (default with --cert: its NotBefore)")
	return func(ctx context.Context, reg *testregister.Register, pos []string, io stdio) error {
		if err := wantArgs(pos, 0, "add --guid G --eik E --name N ..."); err != nil {
			return err
		}
		var err error
		if e.Status, err = register.ParseStatus(*st); err != nil {
			return err
		}
		var certDate time.Time
		if e.CertificateSN, certDate, err = transportCert(*serial, *certFile); err != nil {
			return err
		}
		if *uri != "" {
			e.Services = []register.Service{testregister.ExchangeService(*uri)}
		}
		var join *testregister.Joining
		if *applied != "" {
			j := testregister.Joining{CertIssued: certDate}
			if j.Applied, err = testregister.Date(*applied); err != nil {
				return err
			}
			if *issued != "" {
				if j.CertIssued, err = testregister.Date(*issued); err != nil {
					return err
				}
			}
			join = &j
		} else if *issued != "" {
			return errors.New("--cert-issued belongs to a joining case; give --applied too")
		}
		added, err := reg.Add(ctx, e, join)
		if err != nil {
			return err
		}
		if err := printEntity(io, added); err != nil {
			return err
		}
		if join != nil {
			c, err := reg.Case(ctx, added.GUID)
			if err != nil {
				return err
			}
			return testregister.WriteCase(io.out, c)
		}
		return nil
	}
}

func adminSetStatus(fs *flag.FlagSet) adminRun {
	return func(ctx context.Context, reg *testregister.Register, pos []string, io stdio) error {
		if err := wantArgs(pos, 2, "set-status GUID STATUS"); err != nil {
			return err
		}
		st, err := register.ParseStatus(pos[1])
		if err != nil {
			return err
		}
		e, err := reg.SetStatus(ctx, pos[0], st)
		if err != nil {
			return err
		}
		return printEntity(io, e)
	}
}

func adminSetCert(fs *flag.FlagSet) adminRun {
	serial := fs.String("serial", "", "serial (hex, any notation)")
	certFile := fs.String("cert", "", "certificate file (PEM)")
	issued := fs.String("issued", "", "issue date YYYY-MM-DD for the joining case (default with --cert: its NotBefore)")
	return func(ctx context.Context, reg *testregister.Register, pos []string, io stdio) error {
		if err := wantArgs(pos, 1, "set-cert GUID (--cert FILE | --serial HEX)"); err != nil {
			return err
		}
		sn, date, err := transportCert(*serial, *certFile)
		if err != nil {
			return err
		}
		if sn == "" {
			return errors.New("give --cert FILE or --serial HEX")
		}
		if *issued != "" {
			if date, err = testregister.Date(*issued); err != nil {
				return err
			}
		}
		e, err := reg.SetCertificate(ctx, pos[0], sn, date)
		if err != nil {
			return err
		}
		return printEntity(io, e)
	}
}

func adminSetService(fs *flag.FlagSet) adminRun {
	svc := fs.String("service", "", "service GUID (default: the document-exchange service)")
	uri := fs.String("uri", "", "service URI (the Submit endpoint)")
	st := fs.String("status", "", "Active, Inactive or TemporarilyInactive")
	name := fs.String("name", "", "service name")
	typ := fs.String("type", "", "service type")
	version := fs.String("version", "", "service version, an integer as the register WSDL declares (e.g. 1)")
	remove := fs.Bool("remove", false, "remove the service")
	return func(ctx context.Context, reg *testregister.Register, pos []string, io stdio) error {
		if err := wantArgs(pos, 1, "set-service GUID [flags]"); err != nil {
			return err
		}
		if *remove {
			sg := *svc
			if sg == "" {
				sg = register.ExchangeServiceGUID
			}
			e, err := reg.RemoveService(ctx, pos[0], sg)
			if err != nil {
				return err
			}
			return printEntity(io, e)
		}
		var s register.Status
		if *st != "" {
			var err error
			if s, err = register.ParseStatus(*st); err != nil {
				return err
			}
		}
		e, err := reg.UpdateService(ctx, pos[0], *svc, func(x *register.Service) {
			if *uri != "" {
				x.URI = *uri
			}
			if s != "" {
				x.Status = s
			}
			if *name != "" {
				x.Name = *name
			}
			if *typ != "" {
				x.Type = *typ
			}
			if *version != "" {
				x.Version = register.Version(*version)
			}
		})
		if err != nil {
			return err
		}
		return printEntity(io, e)
	}
}

func adminRemove(fs *flag.FlagSet) adminRun {
	return func(ctx context.Context, reg *testregister.Register, pos []string, io stdio) error {
		if err := wantArgs(pos, 1, "remove GUID"); err != nil {
			return err
		}
		return reg.Remove(ctx, pos[0])
	}
}

func adminList(fs *flag.FlagSet) adminRun {
	asJSON := fs.Bool("json", false, "JSON instead of a table")
	return func(ctx context.Context, reg *testregister.Register, pos []string, io stdio) error {
		es, err := reg.List(ctx)
		if err != nil {
			return err
		}
		ps := make([]*register.Entity, len(es))
		for i := range es {
			ps[i] = &es[i]
		}
		if *asJSON {
			return register.WriteJSON(io.out, ps)
		}
		return register.WriteTable(io.out, ps)
	}
}

func adminExport(fs *flag.FlagSet) adminRun {
	return func(ctx context.Context, reg *testregister.Register, pos []string, io stdio) error {
		if len(pos) > 1 {
			return errors.New("usage: export [FILE]")
		}
		if len(pos) == 0 || pos[0] == "-" {
			return reg.Export(ctx, io.out)
		}
		return reg.ExportFile(ctx, pos[0])
	}
}

func adminImport(fs *flag.FlagSet) adminRun {
	var opt testregister.ImportOptions
	fs.BoolVar(&opt.Force, "force", false, "allow statuses that skip the joining procedure")
	fs.BoolVar(&opt.KeepLastChange, "keep-last-change", false, "keep the file's LastChange values (restore)")
	return func(ctx context.Context, reg *testregister.Register, pos []string, io stdio) error {
		b, name, err := readInput(pos, io)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		res, err := reg.Import(ctx, bytes.NewReader(b), opt)
		if err != nil {
			return err
		}
		fmt.Fprintf(io.out, "imported %d participants and %d joining cases from %s\n", res.Entities, res.Cases, name)
		return nil
	}
}

func adminActivate(fs *flag.FlagSet) adminRun {
	force := fs.Bool("force", false, "activate without a passing verdict (or without a joining case)")
	return func(ctx context.Context, reg *testregister.Register, pos []string, io stdio) error {
		if err := wantArgs(pos, 1, "activate GUID [--force]"); err != nil {
			return err
		}
		e, err := reg.Activate(ctx, pos[0], *force)
		if err != nil {
			return err
		}
		return printEntity(io, e)
	}
}

func adminVerdict(fs *flag.FlagSet) adminRun {
	report := fs.String("report", "", "path of the conformance report")
	return func(ctx context.Context, reg *testregister.Register, pos []string, io stdio) error {
		if err := wantArgs(pos, 2, "verdict GUID pass|fail [--report PATH]"); err != nil {
			return err
		}
		c, err := reg.RecordVerdict(ctx, pos[0], testregister.Verdict(pos[1]), *report)
		if err != nil {
			return err
		}
		return testregister.WriteCase(io.out, c)
	}
}

func adminCase(fs *flag.FlagSet) adminRun {
	applied := fs.String("applied", "", "application date YYYY-MM-DD (open)")
	issued := fs.String("cert-issued", "", "test certificate issue date YYYY-MM-DD (open)")
	all := fs.Bool("all", false, "list closed cases too (list)")
	asJSON := fs.Bool("json", false, "JSON (list)")
	return func(ctx context.Context, reg *testregister.Register, pos []string, io stdio) error {
		if len(pos) == 0 {
			return errors.New("usage: case open|cert-issued|withdraw|show|list ...")
		}
		verb, rest := pos[0], pos[1:]
		switch verb {
		case "open":
			if err := wantArgs(rest, 1, "case open GUID --applied DATE [--cert-issued DATE]"); err != nil {
				return err
			}
			a, err := testregister.Date(*applied)
			if err != nil {
				return fmt.Errorf("--applied: %w", err)
			}
			i, err := optDate(*issued)
			if err != nil {
				return fmt.Errorf("--cert-issued: %w", err)
			}
			c, err := reg.OpenCase(ctx, rest[0], testregister.Joining{Applied: a, CertIssued: i})
			if err != nil {
				return err
			}
			return testregister.WriteCase(io.out, c)
		case "cert-issued":
			if err := wantArgs(rest, 2, "case cert-issued GUID DATE"); err != nil {
				return err
			}
			d, err := testregister.Date(rest[1])
			if err != nil {
				return err
			}
			c, err := reg.CaseCertIssued(ctx, rest[0], d)
			if err != nil {
				return err
			}
			return testregister.WriteCase(io.out, c)
		case "withdraw":
			if err := wantArgs(rest, 1, "case withdraw GUID"); err != nil {
				return err
			}
			return reg.WithdrawCase(ctx, rest[0])
		case "show":
			if err := wantArgs(rest, 1, "case show GUID"); err != nil {
				return err
			}
			c, err := reg.Case(ctx, rest[0])
			if err != nil {
				return err
			}
			if c == nil {
				return fmt.Errorf("%s has no joining case", rest[0])
			}
			return testregister.WriteCase(io.out, c)
		case "list":
			cs, err := reg.Cases(ctx, !*all)
			if err != nil {
				return err
			}
			if *asJSON {
				return testregister.WriteCasesJSON(io.out, cs)
			}
			return testregister.WriteCases(io.out, cs)
		}
		return fmt.Errorf("unknown case verb %q; use open, cert-issued, withdraw, show or list", verb)
	}
}
