// Package integration is a folder, not code to import: conformance is the
// DAEU conformance harness that ships in the binary (`seosgw conformance`);
// e2e holds the end-to-end tests that run real seosgw processes and peers
// over mutual TLS on loopback; extools finds and runs the external tools
// (xmllint, xmlsec1, openssl, the .NET peer) those tests compare with.
package integration
