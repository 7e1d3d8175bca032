package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/seosgw/seosgw/gateway/pki"
	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/integration/extools"
)

// cli runs seosgw in-process with stdin and returns exit code and output.
func cli(t *testing.T, stdin []byte, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, stdio{in: bytes.NewReader(stdin), out: &out, err: &errb})
	return code, out.String(), errb.String()
}

func sampleMessage(t *testing.T) []byte {
	t.Helper()
	m := &seos.Message{
		Header: seos.Header{MessageDate: seos.DateTimeOf(time.Now()),
			Sender:      seos.Entity{Identifier: "000695089", AdministrativeBodyName: "Министерство А", GUID: "{11111111-1111-4111-8111-111111111111}"},
			Recipient:   seos.Entity{Identifier: "121857413", AdministrativeBodyName: "Община Б", GUID: "{22222222-2222-4222-8222-222222222222}"},
			MessageGUID: "{33333333-3333-4333-8333-333333333333}"},
		Body: seos.Body{RegistrationRequest: &seos.RegistrationRequest{Document: seos.Document{
			ID: seos.DocumentID{GUID: "{44444444-4444-4444-8444-444444444444}"}, Kind: "Писмо", About: seos.Str("Относно проверка"),
			Attachments: []seos.Attachment{{FileName: "писмо.pdf", MIMEType: "application/pdf", Body: seos.Base64Of(bytes.Repeat([]byte("x"), 1234))}},
		}, Comment: "за регистрация"}},
	}
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestMessageVerbs(t *testing.T) {
	dir := t.TempDir()
	ca, err := pki.NewAuthority("test CA")
	if err != nil {
		t.Fatal(err)
	}
	id, err := ca.IssueTransport("ministry-a.obmen.local")
	if err != nil {
		t.Fatal(err)
	}
	certPath, keyPath, err := id.WriteFiles(dir, "a")
	if err != nil {
		t.Fatal(err)
	}
	caPath := filepath.Join(dir, "ca.pem")
	os.WriteFile(caPath, ca.CertPEM(), 0o644)
	other, _ := pki.NewAuthority("other CA")
	otherCA := filepath.Join(dir, "other.pem")
	os.WriteFile(otherCA, other.CertPEM(), 0o644)

	msg := sampleMessage(t)
	msgFile := filepath.Join(dir, "msg.xml")
	os.WriteFile(msgFile, msg, 0o644)

	if code, out, _ := cli(t, nil, "message", "validate", msgFile); code != 0 || !strings.HasPrefix(out, "OK") {
		t.Errorf("validate file: %d %s", code, out)
	}
	bad := bytes.Replace(msg, []byte("{33333333-3333-4333-8333-333333333333}"), []byte("33333333"), 1)
	code, _, errOut := cli(t, bad, "message", "validate")
	if code != 1 || !strings.Contains(errOut, "/Message/Header/MessageGUID:") {
		t.Errorf("validate bad stdin: %d %q", code, errOut)
	}

	code, signed, errOut := cli(t, msg, "message", "sign", "--cert", certPath, "--key", keyPath)
	if code != 0 {
		t.Fatalf("sign: %s", errOut)
	}
	code, sha1Signed, _ := cli(t, msg, "message", "sign", "--cert", certPath, "--key", keyPath, "--digest", "sha1")
	if code != 0 || !strings.Contains(sha1Signed, "rsa-sha1") {
		t.Errorf("sign sha1: %d", code)
	}
	if code, _, errOut := cli(t, msg, "message", "sign", "--cert", certPath, "--key", keyPath, "--digest", "md5"); code != 2 || !strings.Contains(errOut, "not one of sha256, sha1") {
		t.Errorf("bad digest: %d %s", code, errOut)
	}
	if code, _, _ := cli(t, []byte(signed), "message", "sign", "--cert", certPath, "--key", keyPath); code != 1 {
		t.Error("signed an already signed message")
	}

	serial := pki.SerialHex(id.Cert)
	verify := []struct {
		name string
		in   string
		args []string
		code int
		want string
	}{
		{"plain", signed, nil, 0, "OK serial=" + serial},
		{"sha1", sha1Signed, nil, 0, "OK serial=" + serial},
		{"with CA and serial", signed, []string{"--ca", caPath, "--serial", strings.ToLower(serial)}, 0, "OK serial=" + serial},
		{"wrong serial", signed, []string{"--serial", "0A0B"}, 1, "expected 0A0B"},
		{"foreign CA", signed, []string{"--ca", otherCA}, 1, "does not chain"},
		{"tampered", strings.Replace(signed, "Писмо", "Писма", 1), nil, 1, "digest mismatch"},
		{"unsigned", string(msg), nil, 1, "not signed"},
	}
	for _, v := range verify {
		t.Run("verify "+v.name, func(t *testing.T) {
			code, out, errOut := cli(t, []byte(v.in), append([]string{"message", "verify"}, v.args...)...)
			if code != v.code || !strings.Contains(out+errOut, v.want) {
				t.Errorf("exit %d, output %q %q; want %d and %q", code, out, errOut, v.code, v.want)
			}
		})
	}

	code, out, _ := cli(t, []byte(signed), "message", "show")
	for _, want := range []string{"MSG_DocumentRegistrationRequest", "{33333333-3333-4333-8333-333333333333}", "Министерство А (EIK 000695089)",
		"писмо.pdf (application/pdf, 1234 bytes)", "valid, certificate serial " + serial, "Относно проверка"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}
	_, out, _ = cli(t, []byte(strings.Replace(signed, "Писмо", "Писма", 1)), "message", "show")
	if !strings.Contains(out, "INVALID: digest mismatch") {
		t.Errorf("show of a tampered message:\n%s", out)
	}
	if code, _, _ := cli(t, nil, "message", "frobnicate"); code != 2 {
		t.Error("unknown verb")
	}
}

// `message verify` takes what the deployed .NET node signs (its KeyInfo
// carries the certificate twice and X509IssuerSerial) and refuses the same
// KeyInfo with a foreign certificate as the second one, saying so.
func TestMessageVerifyDeployedNodeKeyInfo(t *testing.T) {
	dir := t.TempDir()
	tp, err := pki.MakeTestPKI(dir, []string{"node.obmen.local", "foreign.obmen.local"})
	if err != nil {
		t.Fatal(err)
	}
	node := tp.Hosts["node.obmen.local"]
	pfx := filepath.Join(dir, "node.pfx")
	extools.PKCS12(t, node.Cert, node.Key, pfx, "test")
	in := filepath.Join(dir, "msg.xml")
	os.WriteFile(in, sampleMessage(t), 0o644)
	id, _ := pki.LoadIdentity(node.Cert, node.Key)
	foreign, _ := pki.LoadIdentity(tp.Hosts["foreign.obmen.local"].Cert, tp.Hosts["foreign.obmen.local"].Key)
	certText := regexp.MustCompile(`<X509Certificate>[^<]+</X509Certificate>`)
	for _, h := range []string{"sha1", "sha256"} {
		t.Run(h, func(t *testing.T) {
			r := extools.Peer(t, "sign-node", in, pfx, "test", h)
			if !r.OK() {
				t.Fatalf("sign-node: %s %s", r.Stdout, r.Stderr)
			}
			if n := len(certText.FindAllString(r.Stdout, -1)); n != 2 || !strings.Contains(r.Stdout, "<X509IssuerSerial>") {
				t.Fatalf("sign-node wrote %d certificates; the deployed node's shape has 2 and an issuer/serial", n)
			}
			code, out, errOut := cli(t, []byte(r.Stdout), "message", "verify", "--ca", tp.CACert, "--serial", pki.SerialHex(id.Cert))
			if code != 0 || !strings.Contains(out, "OK serial="+pki.SerialHex(id.Cert)) {
				t.Fatalf("sign-node output refused: %d %s %s", code, out, errOut)
			}
			second := certText.FindAllStringIndex(r.Stdout, -1)[1]
			forged := r.Stdout[:second[0]] + "<X509Certificate>" + base64.StdEncoding.EncodeToString(foreign.Cert.Raw) + "</X509Certificate>" + r.Stdout[second[1]:]
			code, _, errOut = cli(t, []byte(forged), "message", "verify")
			if code != 1 || !strings.Contains(errOut, "second, different certificate") {
				t.Errorf("foreign second certificate: exit %d, %s", code, errOut)
			}
		})
	}
}
