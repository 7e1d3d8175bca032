// Package e2e is the end-to-end tests: real seosgw processes, the test
// register, the conformance harness and the external peers, over mutual TLS
// on loopback. It has no code of its own outside _test.go files.
package e2e
