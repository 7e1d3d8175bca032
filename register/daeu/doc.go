// Package daeu speaks the DAEU register's SOAP 1.1 rpc/encoded dialect
// (namespace uri:egovmsg, soapenc arrays, NuSOAP's form) in both directions:
// the Client seosgw syncs with, and the codec the test register serves with.
//
// It is hand-written on etree rather than generated: gowsdl assumes
// document/literal, so its client sends bodies the register cannot read,
// drops soapenc arrays and reads answers one level too high
// (../../wsdl/README.md lists each fault). The generated types in
// wsdl/registry still fix the field names: fields_test.go ties our field
// tables to them and to the reference WSDL.
package daeu
