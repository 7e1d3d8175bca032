// Package pki makes and loads the X.509 material of a SEOS participant: a DAEU-like
// test CA and transport certificates for tests and the demo, and, for production,
// loading of PEM certificates and keys and the register's serial-number format.
package pki
