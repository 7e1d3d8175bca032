// Package conformance is DAEU's conformance harness, shipped in the seosgw
// binary as `seosgw conformance` (product code, not a test): it plays DAEU's
// test participant against a joining participant's SEOS endpoint, runs the
// named checks of the joining test (TLS, SOAP binding, registration,
// duplicates, status, refusals, large attachments, the asynchronous legs),
// and writes a JSON and an HTML report, a run history, and the verdict on
// the joining case. Its own end-to-end tests are in ../e2e.
package conformance
