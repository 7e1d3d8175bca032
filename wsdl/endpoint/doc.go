// Package endpoint holds what gowsdl generates from ../EgovEndpoint.wsdl: the
// Submit and SubmitResponse wrapper elements and a document/literal client.
// endpoint.go is generated (go generate ./wsdl/...); do not edit it.
//
// The gateway's own SOAP code is hand-written on etree because it must keep the
// exact bytes it sends and receives; these types are the reference it must agree with.
package endpoint
