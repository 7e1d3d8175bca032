// Command seosgw is the SEOS participant gateway and its operator tools.
// main only parses flags and wires packages together; behaviour lives in
// gateway/ and register/.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // Europe/Sofia without depending on the host's zoneinfo
)

func commands() map[string]command {
	return map[string]command{
		"message":  {args: "VERB [FILE]", summary: "validate, sign, verify and show SEOS messages, offline", verbs: messageVerbs()},
		"register": {args: "VERB ...", summary: "the participant register: sync, list and show the node's copy; run a test register (serve, admin)", verbs: registerVerbs()},
		"serve": {args: "[--config FILE]", summary: "run the participant node", run: runServe,
			help: "Serves the SEOS endpoint, the AIS API and the ops listener, keeps the register copy fresh and delivers the outbox\nuntil SIGTERM or SIGINT. Refuses a database whose schema is newer than this seosgw knows. SIGHUP (systemctl reload)\nreads tls.cert and tls.key again, as a change of those files does: a renewed certificate without a restart."},
		"preflight": {args: "[--config FILE] [--json]", summary: "check the VPN/EESMDANS path, DNS, TLS to the register and our certificate", run: runPreflight,
			help: "Checks the path to the SEOS network as serve does at start and prints the checklist with the fix for each failure;\nexits 1 when a check fails."},
		"log":    {args: "VERB ...", summary: "read the message log: the exact bytes of every message in and out", verbs: logVerbs()},
		"send":   {args: "[--config FILE] [--idempotency-key K] DOCUMENT.json", summary: "send a document through the local AIS API", run: runSend, help: sendHelp},
		"status": {args: "[--config FILE] [--json] ID", summary: "show a sent document's state and history", run: runStatus},
		"outbox": {args: "VERB ...", summary: "the documents we send: list them, send one again, cancel one, retry a participant's now", verbs: outboxVerbs()},
		"demo": {args: "[--dir DIR] [--keep]", summary: "two gateways exchange a document end to end on loopback", run: runDemo,
			help: "Makes a test PKI, starts a test register and two gateways, sends a letter from A to B and registers it at B.\nCtrl-C stops it and removes its folder (it holds private keys) unless --keep is given."},
		"conformance": {args: "VERB ...", summary: "DAEU's conformance test of a joining participant", verbs: conformanceVerbs()},
		"acceptance":  {args: "VERB ...", summary: "an administration's acceptance rules, offline", verbs: acceptanceVerbs()},
		"version":     {args: "[--json]", summary: "print the version, commit, build date and Go version", run: runVersion},
		"backup": {args: "[--config FILE] DEST", summary: "copy the database (and its files folder) consistently while the node runs", run: runBackup,
			help: backupHelp},
		"restore": {args: "[--config FILE] SRC", summary: "put a backup in place of the node's database (the node must be stopped)", run: runRestore,
			help: restoreHelp},
		"migrate": {args: "VERB ...", summary: "the database schema: status, up", verbs: migrateVerbs()},
		"bench":   {args: "VERB ...", summary: "load a participant's endpoint and measure it", verbs: benchVerbs()},
		"pki":     {args: "VERB ...", summary: "our transport certificate: a new key and request to renew it", verbs: pkiVerbs()},
		"console": {args: "VERB ...", summary: "the operator console's users", verbs: consoleVerbs()},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], stdio{in: os.Stdin, out: os.Stdout, err: os.Stderr})
	stop()
	os.Exit(code)
}

// run runs the command args name.
func run(ctx context.Context, args []string, io stdio) int {
	if len(args) == 1 && args[0] == "--version" {
		args = []string{"version"}
	}
	root := command{args: "COMMAND [ARGS]", summary: "the SEOS participant gateway and its operator tools", verbs: commands()}
	return dispatch(ctx, "seosgw", root, args, io)
}
