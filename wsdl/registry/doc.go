// Package registry holds the types gowsdl generates from ../EgovRegistry.wsdl.
// registry.go is generated (go generate ./wsdl/...); do not edit it.
//
// Types only: the DAEU register speaks SOAP 1.1 rpc/encoded, and gowsdl's client
// assumes document/literal (../README.md lists what it gets wrong on the wire).
// gowsdl also does not understand soapenc:Array, so Entities and Services come
// out as empty structs; Contact and Service are complete, Entity and
// EGovMessageDir are complete except for their arrays.
package registry
