package configs

import (
	"context"
	"crypto/x509"
	"database/sql"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/seosgw/seosgw/gateway/acceptance"
	"github.com/seosgw/seosgw/gateway/ais"
	"github.com/seosgw/seosgw/gateway/buildinfo"
	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/gateway/inbound"
	"github.com/seosgw/seosgw/gateway/judge"
	"github.com/seosgw/seosgw/gateway/mail/intake"
	"github.com/seosgw/seosgw/gateway/mail/mailbox"
	"github.com/seosgw/seosgw/gateway/mail/mailinput"
	"github.com/seosgw/seosgw/gateway/mail/mailq"
	"github.com/seosgw/seosgw/gateway/mail/notice"
	"github.com/seosgw/seosgw/gateway/netcheck"
	"github.com/seosgw/seosgw/gateway/ops"
	"github.com/seosgw/seosgw/gateway/outbound"
	"github.com/seosgw/seosgw/gateway/outbox"
	"github.com/seosgw/seosgw/gateway/pki"
	"github.com/seosgw/seosgw/gateway/rotation"
	"github.com/seosgw/seosgw/gateway/spool"
	"github.com/seosgw/seosgw/gateway/trust"
	"github.com/seosgw/seosgw/integration/extools"
	"github.com/seosgw/seosgw/register"
	"go.yaml.in/yaml/v3"
)

// metric is what the rules and the dashboard may rely on.
type metric struct {
	labels    []string
	histogram bool
}

// knownMetrics are the seosgw metrics of the other packages (the netcheck
// ones are read from the package itself). TestKnownMetricsExist checks this
// list against what the code registers.
var knownMetrics = map[string]metric{
	"seosgw_crl_load_errors_total":                                 {},
	"seosgw_crl_loads_total":                                       {},
	"seosgw_crl_next_update_timestamp_seconds":                     {labels: []string{"file"}},
	"seosgw_crl_revoked_certificates_seen_total":                   {},
	"seosgw_crl_stale":                                             {},
	"seosgw_peer_certificate_expiry_timestamp_seconds":             {labels: []string{"peer"}},
	"seosgw_register_full_sync_overdue":                            {},
	"seosgw_inbound_busy_rejections_total":                         {labels: []string{"scope"}},
	"seosgw_inbound_slow_bodies_total":                             {},
	"seosgw_inbound_tls_refusals_total":                            {labels: []string{"reason"}},
	"seosgw_inbound_in_flight_requests":                            {},
	"seosgw_inbound_processing_seconds":                            {histogram: true},
	"seosgw_inbound_refusals_total":                                {labels: []string{"reason"}},
	"seosgw_inbound_request_size_bytes":                            {histogram: true},
	"seosgw_inbound_requests_total":                                {labels: []string{"type", "outcome"}},
	"seosgw_inbound_signature_failures_total":                      {labels: []string{"kind"}},
	"seosgw_outbound_attempt_seconds":                              {histogram: true},
	"seosgw_outbound_attempts_total":                               {labels: []string{"kind", "result"}},
	"seosgw_outbound_delivery_latency_seconds":                     {histogram: true},
	"seosgw_outbound_failures_total":                               {labels: []string{"reason"}},
	"seosgw_outbound_last_success_timestamp_seconds":               {labels: []string{"peer"}},
	"seosgw_outbox_items":                                          {labels: []string{"state"}},
	"seosgw_ready":                                                 {labels: []string{"check"}},
	"seosgw_register_age_seconds":                                  {},
	"seosgw_register_entities":                                     {labels: []string{"status"}},
	"seosgw_register_last_success_timestamp_seconds":               {},
	"seosgw_register_sync_consecutive_failures":                    {},
	"seosgw_register_sync_duration_seconds":                        {labels: []string{"mode", "result"}, histogram: true},
	"seosgw_register_sync_failures_total":                          {labels: []string{"kind"}},
	"seosgw_peer_info":                                             {labels: []string{"peer", "eik", "name"}},
	"seosgw_build_info":                                            {labels: []string{"version", "revision", "goversion"}},
	"seosgw_spool_drops_total":                                     {labels: []string{"result"}},
	"seosgw_spool_backlog_drops":                                   {labels: []string{"folder"}},
	"seosgw_spool_held_drops":                                      {},
	"seosgw_spool_received_written_total":                          {},
	"seosgw_spool_last_scan_success_timestamp_seconds":             {},
	"seosgw_ais_api_requests_total":                                {labels: []string{"route", "code"}},
	"seosgw_ais_api_request_duration_seconds":                      {labels: []string{"route"}, histogram: true},
	"seosgw_register_records_rejected_total":                       {labels: []string{"field"}},
	"seosgw_transport_certificate_reload_failures_total":           {labels: []string{"reason"}},
	"seosgw_transport_certificate_registered":                      {},
	"seosgw_transport_certificate_rotation_grace":                  {},
	"seosgw_transport_certificate_info":                            {labels: []string{"serial"}},
	"seosgw_outbox_manual_actions_total":                           {labels: []string{"action", "result"}},
	"seosgw_acceptance_verdicts_total":                             {labels: []string{"outcome"}},
	"seosgw_acceptance_checks_total":                               {labels: []string{"rule", "result", "effect"}},
	"seosgw_acceptance_scanner_up":                                 {},
	"seosgw_acceptance_evaluation_seconds":                         {histogram: true},
	"seosgw_acceptance_revocation_fetch_failures_total":            {labels: []string{"method"}},
	"seosgw_acceptance_revocation_fetch_seconds":                   {labels: []string{"method"}, histogram: true},
	"seosgw_acceptance_documents_waiting":                          {},
	"seosgw_acceptance_documents_held":                             {},
	"seosgw_acceptance_oldest_waiting_timestamp_seconds":           {},
	"seosgw_acceptance_judge_failures_total":                       {labels: []string{"step"}},
	"seosgw_acceptance_trusted_list_issue_timestamp_seconds":       {},
	"seosgw_acceptance_trusted_list_next_update_timestamp_seconds": {},
	"seosgw_acceptance_trusted_list_loaded_timestamp_seconds":      {},
	"seosgw_acceptance_trusted_list_reload_failures_total":         {},
	"seosgw_mail_received_total":                                   {labels: []string{"channel", "result"}},
	"seosgw_mail_received_bytes_total":                             {labels: []string{"channel"}},
	"seosgw_mail_intake_connections":                               {},
	"seosgw_mail_imap_polls_total":                                 {labels: []string{"result"}},
	"seosgw_mail_imap_up":                                          {},
	"seosgw_mail_inbox_total":                                      {labels: []string{"result"}},
	"seosgw_mail_verdicts_total":                                   {labels: []string{"outcome"}},
	"seosgw_mail_notices_total":                                    {labels: []string{"kind", "result"}},
	"seosgw_mail_smime_signatures_total":                           {labels: []string{"result"}},
	"seosgw_mail_refused_total":                                    {labels: []string{"reason"}},
	"seosgw_mail_outbox_messages":                                  {labels: []string{"state"}},
	"seosgw_mail_send_attempts_total":                              {},
	"seosgw_mail_send_failures_total":                              {labels: []string{"type"}},
	"seosgw_mail_sent_total":                                       {},
	"seosgw_mail_submission_up":                                    {},
	// Prometheus's own per target.
	"up": {},
}

// knownValues are label values the code sets from a fixed set; a rule that
// matches another value would never fire.
var knownValues = map[string][]string{
	"seosgw_outbox_items/state":                                 {"queued", "sending", "delivered", "failed", "cancelled"},
	"seosgw_outbound_attempts_total/result":                     {"delivered", "retry", "failed"},
	"seosgw_certificate_expiry_timestamp_seconds/cert":          {"transport"},
	"seosgw_spool_drops_total/result":                           {"queued", "receipt_applied", "failed"},
	"seosgw_spool_backlog_drops/folder":                         {"outbox", "receipts", "work"},
	"seosgw_acceptance_verdicts_total/outcome":                  {"accept", "hold", "reject"},
	"seosgw_acceptance_revocation_fetch_failures_total/method":  {"crl", "ocsp"},
	"seosgw_acceptance_checks_total/result":                     {"pass", "fail", "unknown", "not-applicable"},
	"seosgw_acceptance_judge_failures_total/step":               {"list", "read", "record"},
	"seosgw_transport_certificate_reload_failures_total/reason": {"unreadable", "key_mismatch", "key_too_small"},
	"seosgw_mail_received_total/channel":                        {"smtp", "lmtp", "imap"},
	"seosgw_mail_received_total/result": {"delivered", "refused", "too_large", "unknown_recipient", "client_refused", "too_many_connections",
		"tls_required", "aborted", "sink_failed", "spool_failed"},
	"seosgw_mail_inbox_total/result":       {"stored", "duplicate", "failed"},
	"seosgw_mail_verdicts_total/outcome":   {"accept", "hold", "reject"},
	"seosgw_mail_notices_total/kind":       {"receipt", "refusal"},
	"seosgw_mail_notices_total/result":     {"queued", "declined", "auto_submitted", "no_address", "failed"},
	"seosgw_mail_outbox_messages/state":    {"queued", "sending", "sent", "failed"},
	"seosgw_mail_send_failures_total/type": {"temporary", "permanent"},
	"seosgw_mail_imap_polls_total/result":  {"ok", "error"},
	"up/job":                               {"seosgw"},
}

// targetLabels are added by Prometheus to every series.
var targetLabels = []string{"job", "instance"}

// allMetrics is knownMetrics plus netcheck's metrics, gathered from a
// Prober that ran once.
func allMetrics(t *testing.T) map[string]metric {
	t.Helper()
	all := map[string]metric{}
	for n, m := range knownMetrics {
		all[n] = m
	}
	reg := prometheus.NewRegistry()
	id := &pki.Identity{Cert: &x509.Certificate{NotAfter: time.Now().Add(time.Hour)}}
	p, err := netcheck.NewProber(netcheck.Options{Timeout: time.Second}, netcheck.Deps{RegisterURL: "https://127.0.0.1:1/", Identity: id}, reg)
	if err != nil {
		t.Fatal(err)
	}
	p.Check(context.Background())
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		var labels []string
		if len(f.Metric) > 0 {
			for _, lp := range f.Metric[0].Label {
				labels = append(labels, lp.GetName())
			}
		}
		all[f.GetName()] = metric{labels: labels}
	}
	for _, want := range []string{"seosgw_network_check_ok", "seosgw_network_check_timestamp_seconds", "seosgw_certificate_expiry_timestamp_seconds"} {
		if _, ok := all[want]; !ok {
			t.Fatalf("netcheck does not export %s", want)
		}
	}
	return all
}

// recorder is a Registerer that keeps the descriptions of what is
// registered, including vectors that have no series yet; its labels are
// the variable and the constant ones.
type recorder struct{ descs map[string][]string }

func (r *recorder) Register(c prometheus.Collector) error {
	ch := make(chan *prometheus.Desc, 64)
	go func() { c.Describe(ch); close(ch) }()
	for d := range ch {
		m := descRE.FindStringSubmatch(d.String())
		if m == nil {
			return errors.New("cannot read " + d.String())
		}
		var labels []string
		if m[3] != "" {
			labels = strings.Split(m[3], ",")
		}
		for _, kv := range constLabelRE.FindAllStringSubmatch(m[2], -1) {
			labels = append(labels, kv[1])
		}
		r.descs[m[1]] = labels
	}
	return nil
}

func (r *recorder) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := r.Register(c); err != nil {
			panic(err)
		}
	}
}

func (r *recorder) Unregister(prometheus.Collector) bool { return false }

var (
	descRE       = regexp.MustCompile(`^Desc\{fqName: "([^"]+)",.*constLabels: \{([^}]*)\}, variableLabels: \{([^}]*)\}\}$`)
	constLabelRE = regexp.MustCompile(`(\w+)="`)
)

// TestKnownMetricsExist checks knownMetrics against the metrics the
// packages register, so that the list cannot vouch for a metric that was
// renamed or lost a label.
func TestKnownMetricsExist(t *testing.T) {
	rec := &recorder{descs: map[string][]string{}}
	trust.NewMetrics(rec)
	inbound.NewMetrics(rec)
	outbound.NewMetrics(rec)
	if _, err := register.NewMetrics(rec, clock.System); err != nil {
		t.Fatal(err)
	}
	ops.New(rec, prometheus.NewRegistry())
	ais.NewAPIMetrics(rec)
	rotation.NewMetrics(rec).Watch(rec, nil, nil) // the gauges read the node only when scraped
	outbox.NewObserver(rec, nil)
	if err := buildinfo.Register(rec, buildinfo.Get()); err != nil {
		t.Fatal(err)
	}
	if err := (&spool.Spool{}).RegisterMetrics(rec); err != nil {
		t.Fatal(err)
	}
	rules, err := acceptance.ParseRules([]byte(`kinds: {registrable: [{group: {bg: писма}, names: [писмо]}]}
formats: {allowed: [pdf]}
virus: {clamd: "unix:/nonexistent/clamd.ctl"}
`), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := acceptance.New(rules, acceptance.WithRegistry(rec)); err != nil {
		t.Fatal(err)
	}
	if _, err := judge.NewMetrics(rec, nil, nil); err != nil {
		t.Fatal(err)
	}
	// The mail channel's parts register as the node builds them.
	if _, err := intake.NewSMTPServer(intake.SMTPOptions{Recipients: []string{"a@b.example"}, Registry: rec}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := mailq.NewSender(nil, mailq.Options{Server: "127.0.0.1:1", TLS: mailq.TLSNone, Registry: rec}); err != nil {
		t.Fatal(err)
	}
	input := mailinput.New(mailinput.Options{Registry: rec})
	if _, err := mailbox.New(mailbox.Options{DB: new(sql.DB), Input: input, Composer: &notice.Composer{}, Registry: rec}); err != nil {
		t.Fatal(err)
	}
	for name, m := range knownMetrics {
		if name == "up" {
			continue
		}
		labels, ok := rec.descs[name]
		if !ok {
			t.Errorf("%s is not registered by the code; update knownMetrics, the rules and the dashboard", name)
			continue
		}
		got, want := slices.Sorted(slices.Values(labels)), slices.Sorted(slices.Values(m.labels))
		if !slices.Equal(got, want) {
			t.Errorf("%s has labels %v in the code, %v in knownMetrics", name, got, want)
		}
	}
}

var (
	quotedRE   = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|` + "`[^`]*`")
	rangeRE    = regexp.MustCompile(`\[[^\]]*\]`)
	groupingRE = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)`)
	selectorRE = regexp.MustCompile(`([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{([^}]*)\}`)
	matcherRE  = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"`)
	braceRE    = regexp.MustCompile(`\{[^}]*\}`)
	identRE    = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*`)
	keywords   = map[string]bool{"by": true, "without": true, "on": true, "ignoring": true, "group_left": true,
		"group_right": true, "bool": true, "and": true, "or": true, "unless": true, "offset": true, "inf": true, "nan": true}
)

// token is an identifier in PromQL; call says a '(' follows (a function or
// an aggregation).
type token struct {
	name string
	call bool
}

// tokens lists the identifiers of expr that stand alone: not part of a
// number or duration (5m, 1e3), a variable ($instance) or a dotted name.
func tokens(expr string) []token {
	var out []token
	for _, loc := range identRE.FindAllStringIndex(expr, -1) {
		if loc[0] > 0 && strings.ContainsRune("0123456789.$", rune(expr[loc[0]-1])) {
			continue
		}
		rest := strings.TrimLeft(expr[loc[1]:], " \t\n")
		out = append(out, token{expr[loc[0]:loc[1]], strings.HasPrefix(rest, "(")})
	}
	return out
}

// checkExpr reports metrics, labels and label values in a PromQL
// expression that the code does not export. It is a tokenizer, not a
// parser: enough for the expressions of alert rules and panels.
func checkExpr(all map[string]metric, expr string) []string {
	var problems []string
	lookup := func(name string) (metric, string, bool) {
		if m, ok := all[name]; ok {
			return m, name, true
		}
		for _, suf := range []string{"_bucket", "_sum", "_count"} {
			if base, found := strings.CutSuffix(name, suf); found {
				if m, ok := all[base]; ok && m.histogram {
					if suf == "_bucket" {
						m.labels = append(slices.Clone(m.labels), "le")
					}
					return m, base, true
				}
			}
		}
		return metric{}, "", false
	}
	used := map[string]bool{} // labels of the metrics in expr
	for _, s := range selectorRE.FindAllStringSubmatch(expr, -1) {
		m, base, ok := lookup(s[1])
		if !ok {
			continue // reported below
		}
		for _, mt := range matcherRE.FindAllStringSubmatch(s[2], -1) {
			label, op, value := mt[1], mt[2], mt[3]
			if !slices.Contains(m.labels, label) && !slices.Contains(targetLabels, label) {
				problems = append(problems, s[1]+" has no label "+label)
			}
			if vals, enum := knownValues[base+"/"+label]; enum && op == "=" && !slices.Contains(vals, value) {
				problems = append(problems, s[1]+"{"+label+"=\""+value+"\"}: the code sets "+label+" only to "+strings.Join(vals, ", "))
			}
		}
	}
	bare := rangeRE.ReplaceAllString(quotedRE.ReplaceAllString(expr, `""`), "")
	var grouping []string
	for _, g := range groupingRE.FindAllStringSubmatch(bare, -1) {
		for _, l := range strings.Split(g[1], ",") {
			if l = strings.TrimSpace(l); l != "" {
				grouping = append(grouping, l)
			}
		}
	}
	bare = braceRE.ReplaceAllString(groupingRE.ReplaceAllString(bare, " "), " ")
	for _, tok := range tokens(bare) {
		name := tok.name
		if tok.call || keywords[strings.ToLower(name)] {
			continue
		}
		m, _, ok := lookup(name)
		if !ok {
			problems = append(problems, "unknown metric "+name)
			continue
		}
		for _, l := range m.labels {
			used[l] = true
		}
	}
	for _, l := range grouping {
		if !used[l] && !slices.Contains(targetLabels, l) && l != "le" {
			problems = append(problems, "grouping by "+l+", which no metric in the expression has")
		}
	}
	return problems
}

func TestCheckExprCatchesMistakes(t *testing.T) {
	all := allMetrics(t)
	for expr, want := range map[string]string{
		`seosgw_outbox_items{state="queued"} > 100`:                                                             "",
		`sum by (le) (rate(seosgw_inbound_processing_seconds_bucket{instance=~"$instance"}[$__rate_interval]))`: "",
		`seosgw_outbox_item{state="queued"}`:                                                                    "unknown metric seosgw_outbox_item",
		`seosgw_outbox_items{status="queued"}`:                                                                  "has no label status",
		`seosgw_outbox_items{state="waiting"}`:                                                                  "only to queued",
		`sum by (peer) (seosgw_outbox_items)`:                                                                   "grouping by peer",
		`increase(seosgw_outbound_attempts_total{result="failure"}[1h]) > 0`:                                    "only to delivered",
		`histogram_quantile(0.9, rate(seosgw_outbox_items_bucket[5m]))`:                                         "unknown metric seosgw_outbox_items_bucket",
		`time() - seosgw_network_check_timestamp_seconds > 900 or absent(up{job="seosgw"})`:                     "",
	} {
		got := strings.Join(checkExpr(all, expr), "; ")
		if (want == "") != (got == "") || !strings.Contains(got, want) {
			t.Errorf("%s: problems %q, want %q", expr, got, want)
		}
	}
}

type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

type ruleTests struct {
	RuleFiles []string `yaml:"rule_files"`
	Tests     []struct {
		Name          string `yaml:"name"`
		AlertRuleTest []struct {
			EvalTime  string           `yaml:"eval_time"`
			AlertName string           `yaml:"alertname"`
			ExpAlerts []map[string]any `yaml:"exp_alerts"`
		} `yaml:"alert_rule_test"`
	} `yaml:"tests"`
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// TestAlertRules: promtool accepts the rules and their unit tests pass;
// every alert has a severity, a summary and a description, uses only
// metrics the code exports, and is tested both firing and quiet.
func TestAlertRules(t *testing.T) {
	var rules ruleFile
	readYAML(t, "prometheus-alerts.yaml", &rules)
	var tests ruleTests
	readYAML(t, "prometheus-alerts.test.yaml", &tests)
	all := allMetrics(t)

	fires, quiet := map[string]bool{}, map[string]bool{}
	for _, tc := range tests.Tests {
		for _, a := range tc.AlertRuleTest {
			if len(a.ExpAlerts) > 0 {
				fires[a.AlertName] = true
			} else {
				quiet[a.AlertName] = true
			}
		}
	}
	seen := map[string]bool{}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				t.Errorf("group %s: a rule that is not an alert (%s)", g.Name, r.Expr)
				continue
			}
			if seen[r.Alert] {
				t.Errorf("alert %s defined twice", r.Alert)
			}
			seen[r.Alert] = true
			if s := r.Labels["severity"]; s != "critical" && s != "warning" {
				t.Errorf("%s: severity %q, want critical or warning", r.Alert, s)
			}
			if r.Annotations["summary"] == "" || len(r.Annotations["description"]) < 60 {
				t.Errorf("%s: needs a summary and a description that says what to do", r.Alert)
			}
			for _, p := range checkExpr(all, r.Expr) {
				t.Errorf("%s: %s", r.Alert, p)
			}
			if !fires[r.Alert] || !quiet[r.Alert] {
				t.Errorf("%s: prometheus-alerts.test.yaml must test it firing (%v) and quiet (%v)", r.Alert, fires[r.Alert], quiet[r.Alert])
			}
		}
	}
	for _, want := range []string{"SeosgwNetworkPathDown", "SeosgwRegisterStale", "SeosgwCertificateExpiring", "SeosgwOutboxBacklog",
		"SeosgwOutboundFailed", "SeosgwSignatureFailures", "SeosgwCRLStale", "SeosgwDown", "SeosgwSpoolDropsFailed", "SeosgwSpoolStalled",
		"SeosgwAISAPIErrors", "SeosgwAcceptanceScannerDown", "SeosgwAcceptanceRevocationFailing", "SeosgwAcceptanceHeldBacklog",
		"SeosgwAcceptanceVerdictsStuck", "SeosgwMailSubmissionDown", "SeosgwMailFailed", "SeosgwMailQueueStuck", "SeosgwMailboxUnreachable",
		"SeosgwMailNotStored"} {
		if !seen[want] {
			t.Errorf("alert %s is missing", want)
		}
	}

	promtool := extools.Require(t, "promtool")
	if r := extools.Run(t, nil, promtool, "check", "rules", "prometheus-alerts.yaml"); !r.OK() {
		t.Errorf("promtool check rules:\n%s%s", r.Stdout, r.Stderr)
	}
	if r := extools.Run(t, nil, promtool, "test", "rules", "prometheus-alerts.test.yaml"); !r.OK() {
		t.Errorf("promtool test rules:\n%s%s", r.Stdout, r.Stderr)
	}
}

type dashboard struct {
	Title      string  `json:"title"`
	UID        string  `json:"uid"`
	Panels     []panel `json:"panels"`
	Templating struct {
		List []struct {
			Name       string `json:"name"`
			Type       string `json:"type"`
			Definition string `json:"definition"`
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID          int    `json:"id"`
	Type        string `json:"type"`
	Title       string `json:"title"`
	Description string `json:"description"`
	Datasource  *struct {
		Type string `json:"type"`
		UID  string `json:"uid"`
	} `json:"datasource"`
	GridPos struct{ H, W, X, Y int } `json:"gridPos"`
	Targets []struct {
		Expr  string `json:"expr"`
		RefID string `json:"refId"`
	} `json:"targets"`
}

// TestDashboard: the JSON parses, panels do not overlap, every query uses
// metrics the code exports, and the admin's topics are all there.
func TestDashboard(t *testing.T) {
	b, err := os.ReadFile("grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("grafana-dashboard.json: %v", err)
	}
	if d.Title == "" || d.UID == "" || len(d.Panels) == 0 {
		t.Fatal("dashboard needs a title, a uid and panels")
	}
	all := allMetrics(t)
	vars := map[string]bool{}
	for _, v := range d.Templating.List {
		vars[v.Name] = true
		if def, ok := strings.CutPrefix(v.Definition, "label_values("); ok {
			sel, _, _ := strings.Cut(def, ",")
			for _, p := range checkExpr(all, sel) {
				t.Errorf("variable %s: %s", v.Name, p)
			}
		}
	}
	if !vars["datasource"] || !vars["instance"] {
		t.Errorf("dashboard needs the variables datasource and instance, has %v", vars)
	}
	ids := map[int]bool{}
	used := map[string]bool{}
	cells := map[[2]int]string{}
	for _, p := range d.Panels {
		if ids[p.ID] {
			t.Errorf("panel id %d used twice", p.ID)
		}
		ids[p.ID] = true
		g := p.GridPos
		if g.W <= 0 || g.H <= 0 || g.X < 0 || g.X+g.W > 24 {
			t.Errorf("panel %q: gridPos %+v outside the 24 columns", p.Title, g)
		}
		for x := g.X; x < g.X+g.W; x++ {
			for y := g.Y; y < g.Y+g.H; y++ {
				if other, taken := cells[[2]int{x, y}]; taken {
					t.Errorf("panel %q overlaps %q at %d,%d", p.Title, other, x, y)
					x, y = g.X+g.W, g.Y+g.H
				}
				cells[[2]int{x, y}] = p.Title
			}
		}
		if p.Type == "row" {
			continue
		}
		if p.Title == "" || p.Description == "" {
			t.Errorf("panel %d needs a title and a description", p.ID)
		}
		if p.Datasource == nil || p.Datasource.UID != "${datasource}" {
			t.Errorf("panel %q must use the datasource variable", p.Title)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			if tg.Expr == "" || tg.RefID == "" {
				t.Errorf("panel %q: a target without expr or refId", p.Title)
			}
			if !strings.Contains(tg.Expr, `instance=~"$instance"`) {
				t.Errorf("panel %q: %s ignores the instance variable", p.Title, tg.Expr)
			}
			for _, pr := range checkExpr(all, tg.Expr) {
				t.Errorf("panel %q: %s", p.Title, pr)
			}
			for _, tok := range tokens(tg.Expr) {
				used[tok.name] = true
			}
		}
	}
	// What a network admin must find at a glance.
	for _, m := range []string{"seosgw_network_check_ok", "seosgw_network_check_timestamp_seconds", "seosgw_ready", "seosgw_register_age_seconds",
		"seosgw_register_sync_failures_total", "seosgw_certificate_expiry_timestamp_seconds", "seosgw_crl_stale", "seosgw_outbox_items",
		"seosgw_inbound_requests_total", "seosgw_inbound_refusals_total", "seosgw_inbound_signature_failures_total",
		"seosgw_outbound_delivery_latency_seconds_bucket", "seosgw_outbound_failures_total", "seosgw_outbound_last_success_timestamp_seconds",
		"seosgw_peer_certificate_expiry_timestamp_seconds", "seosgw_register_full_sync_overdue", "seosgw_peer_info", "seosgw_build_info",
		"seosgw_spool_drops_total", "seosgw_spool_backlog_drops", "seosgw_ais_api_requests_total",
		"seosgw_acceptance_scanner_up", "seosgw_acceptance_documents_waiting", "seosgw_acceptance_documents_held",
		"seosgw_acceptance_verdicts_total", "seosgw_acceptance_checks_total", "seosgw_acceptance_revocation_fetch_failures_total",
		"seosgw_mail_received_total", "seosgw_mail_inbox_total", "seosgw_mail_verdicts_total", "seosgw_mail_notices_total",
		"seosgw_mail_outbox_messages", "seosgw_mail_send_failures_total", "seosgw_mail_submission_up", "seosgw_mail_imap_up"} {
		if !used[m] {
			t.Errorf("no panel shows %s", m)
		}
	}
}

// unitOptions parses a systemd unit into section.key → values.
func unitOptions(t *testing.T, path string) map[string][]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	opts := map[string][]string{}
	section := ""
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = strings.Trim(line, "[]")
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				t.Fatalf("%s:%d: %q is not key=value in a section", path, i+1, line)
			}
			opts[section+"."+k] = append(opts[section+"."+k], v)
		}
	}
	return opts
}

func TestSystemdUnit(t *testing.T) {
	opts := unitOptions(t, "seosgw.service")
	want := map[string]string{
		"Service.ExecStart":               "/usr/bin/seosgw serve --config /etc/seosgw/seosgw.yaml",
		"Service.ExecReload":              "/bin/kill -HUP $MAINPID",
		"Service.User":                    "seosgw",
		"Service.Restart":                 "on-failure",
		"Service.ProtectSystem":           "strict",
		"Service.ProtectHome":             "yes",
		"Service.PrivateTmp":              "yes",
		"Service.NoNewPrivileges":         "yes",
		"Service.StateDirectory":          "seosgw",
		"Service.ConfigurationDirectory":  "seosgw",
		"Service.RuntimeDirectory":        "seosgw", // the LMTP socket's folder, /run/seosgw
		"Service.RuntimeDirectoryMode":    "0750",
		"Service.CapabilityBoundingSet":   "",
		"Service.RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX AF_NETLINK",
		"Service.MemoryDenyWriteExecute":  "yes",
		"Service.LockPersonality":         "yes",
		"Install.WantedBy":                "multi-user.target",
	}
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if v := opts[k]; len(v) == 0 || v[len(v)-1] != want[k] {
			t.Errorf("%s = %q, want %q", k, v, want[k])
		}
	}
	if f := opts["Service.SystemCallFilter"]; len(f) == 0 || f[0] != "@system-service" {
		t.Errorf("SystemCallFilter = %q, want @system-service first", f)
	}
}

// TestSystemdUnitVerifies runs systemd-analyze on the unit when it is
// installed: verify (syntax, known options) and security (the exposure
// score must stay "OK", at most 2.0).
func TestSystemdUnitVerifies(t *testing.T) {
	bin := extools.Require(t, "systemd-analyze")
	// verify wants ExecStart's program to exist; any executable stands in.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("seosgw.service")
	if err != nil {
		t.Fatal(err)
	}
	unit := filepath.Join(t.TempDir(), "seosgw.service")
	if err := os.WriteFile(unit, []byte(strings.Replace(string(b), "ExecStart=/usr/bin/seosgw", "ExecStart="+self, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := extools.Run(t, nil, bin, "verify", unit); !r.OK() || strings.TrimSpace(r.Stderr) != "" {
		t.Errorf("systemd-analyze verify (exit %d):\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	if r := extools.Run(t, nil, bin, "security", "--offline=yes", "--threshold=20", "--no-pager", unit); !r.OK() {
		t.Errorf("systemd-analyze security: exposure above 2.0 (exit %d):\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
}
