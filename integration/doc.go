// Package integration holds end-to-end tests that run real seosgw
// processes over mutual TLS on loopback, and (later) the DAEU conformance
// harness. extools runs the external peers the tests compare with.
package integration
