package config

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"time"
)

// Console is the operator console (gateway/console): a web page for the
// administrator, served on its own listener. Empty Listen: no console.
type Console struct {
	// Listen is host:port; loopback unless TLS is configured (the console
	// then asks browsers for a client certificate, and passwords travel
	// encrypted).
	Listen string `yaml:"listen"`
	// UsersFile lists the console's users and their roles (viewer,
	// operator), one per line with a bcrypt hash; `seosgw console user add`
	// writes it. Mode 0600.
	UsersFile string     `yaml:"users_file"`
	TLS       ConsoleTLS `yaml:"tls"`
	// SessionIdle ends a session nobody used for this long; SessionMax
	// ends any session this long after its login.
	SessionIdle Duration `yaml:"session_idle"`
	SessionMax  Duration `yaml:"session_max"`
	// ReportsDir is the folder of conformance reports (report.html files,
	// in it or one folder down) the console lists; empty: no reports page.
	ReportsDir string `yaml:"reports_dir"`
	// PageSize is how many rows a page shows (at most 200).
	PageSize int `yaml:"page_size"`
}

// ConsoleTLS serves the console over HTTPS.
type ConsoleTLS struct {
	Cert string `yaml:"cert"` // the console's server certificate (PEM)
	Key  string `yaml:"key"`
	// ClientCA, when set, lets users log in with a client certificate
	// issued by this CA: its common name or e-mail address names the user
	// in users_file.
	ClientCA string `yaml:"client_ca"`
	// ClientCRL, when set, is that CA's revocation list (PEM or DER),
	// re-read when the file changes: a revoked certificate cannot log in.
	// While it is unreadable or past its next update, certificate login
	// is refused (passwords still work).
	ClientCRL string `yaml:"client_crl"`
}

// MaxConsolePage is the largest console.page_size.
const MaxConsolePage = 200

func consoleDefaults() Console {
	return Console{SessionIdle: Duration(30 * time.Minute), SessionMax: Duration(12 * time.Hour), PageSize: 50}
}

// Enabled reports whether the console is configured.
func (c Console) Enabled() bool { return c.Listen != "" }

func (c *Config) validateConsole(add func(string, string, ...any)) {
	k := c.Console
	if !k.Enabled() {
		return
	}
	checkListen(add, "console.listen", k.Listen)
	tls := k.TLS.Cert != "" || k.TLS.Key != ""
	if host, _, err := net.SplitHostPort(k.Listen); err == nil && !tls {
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			add("console.listen", "%q is not a loopback address and console.tls is not set: passwords and session cookies would cross the network in clear; keep it on 127.0.0.1 (reach it over SSH) or set console.tls.cert and key", k.Listen)
		}
	}
	if k.UsersFile == "" {
		add("console.users_file", "empty; name the users file (e.g. /etc/seosgw/console-users) and add a user with seosgw console user add NAME --role operator")
	} else if st, err := os.Stat(c.Path(k.UsersFile)); err == nil && st.Mode().Perm()&0o077 != 0 {
		add("console.users_file", "%s is readable by others (mode %o); chmod 600 it", k.UsersFile, st.Mode().Perm())
	}
	if tls {
		for field, path := range map[string]string{"console.tls.cert": k.TLS.Cert, "console.tls.key": k.TLS.Key} {
			if path == "" {
				add(field, "empty; console.tls needs both cert and key (PEM files)")
			} else if st, err := os.Stat(c.Path(path)); err != nil {
				add(field, "%v; check the path (relative paths start at the config file's folder)", err)
			} else if field == "console.tls.key" && st.Mode().Perm()&0o077 != 0 {
				add(field, "%s is readable by others (mode %o); chmod 600 it", path, st.Mode().Perm())
			}
		}
	}
	if k.TLS.ClientCA != "" {
		if !tls {
			add("console.tls.client_ca", "client certificates need the console served over TLS; set console.tls.cert and key")
		} else if _, err := os.Stat(c.Path(k.TLS.ClientCA)); err != nil {
			add("console.tls.client_ca", "%v; give the PEM bundle of the CA that issues your operators' certificates", err)
		}
	}
	if k.TLS.ClientCRL != "" {
		if k.TLS.ClientCA == "" {
			add("console.tls.client_crl", "a CRL without console.tls.client_ca checks nothing; set client_ca to the CA that issued it, or remove client_crl")
		} else if err := checkClientCRL(c.Path(k.TLS.ClientCRL), c.Path(k.TLS.ClientCA)); err != nil {
			add("console.tls.client_crl", "%v; give the CRL (PEM or DER) that the CA of console.tls.client_ca publishes", err)
		}
	}
	if k.SessionIdle.D() < time.Minute {
		add("console.session_idle", "%s; give at least 1m (the default is 30m)", k.SessionIdle.D())
	}
	if k.SessionMax.D() < k.SessionIdle.D() || k.SessionMax.D() > 7*24*time.Hour {
		add("console.session_max", "%s; give session_idle (%s) to 7d (the default is 12h)", k.SessionMax.D(), k.SessionIdle.D())
	}
	if k.ReportsDir != "" {
		if st, err := os.Stat(c.Path(k.ReportsDir)); err != nil || !st.IsDir() {
			add("console.reports_dir", "%q is not a folder; give the folder seosgw conformance run writes its reports to, or leave it empty", k.ReportsDir)
		}
	}
	if k.PageSize < 1 || k.PageSize > MaxConsolePage {
		add("console.page_size", "%d; give 1 to %d rows a page (the default is 50)", k.PageSize, MaxConsolePage)
	}
}

// checkClientCRL: the file is a CRL signed by a certificate of the CA
// bundle. Its next update is not checked here: a stale list is a runtime
// state (certificate login is refused until a fresh one comes), not a
// configuration error.
func checkClientCRL(crlPath, caPath string) error {
	b, err := os.ReadFile(crlPath)
	if err != nil {
		return err
	}
	if blk, _ := pem.Decode(b); blk != nil {
		if blk.Type != "X509 CRL" {
			return fmt.Errorf("%s holds a PEM %q block, not an X509 CRL", crlPath, blk.Type)
		}
		b = blk.Bytes
	}
	rl, err := x509.ParseRevocationList(b)
	if err != nil {
		return fmt.Errorf("%s: %w", crlPath, err)
	}
	cas, err := os.ReadFile(caPath)
	if err != nil {
		return nil // console.tls.client_ca reports it
	}
	for rest := cas; ; {
		var blk *pem.Block
		if blk, rest = pem.Decode(rest); blk == nil {
			break
		}
		if ca, err := x509.ParseCertificate(blk.Bytes); err == nil && rl.CheckSignatureFrom(ca) == nil {
			return nil
		}
	}
	return errors.New(crlPath + " is not signed by a certificate of console.tls.client_ca")
}
