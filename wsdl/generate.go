package wsdl

// Go code from the WSDLs, made by gowsdl (the version go.mod pins) through
// internal/gowsdlgen. Regenerate with `go generate ./wsdl/...` and commit the
// result; TestGeneratedCodeIsUpToDate fails when the committed files differ.
//
// endpoint: types and client for Submit. WCF's serialization schema is hidden
// from gowsdl, which would otherwise emit `type int int32` and `type byte int8`.
// registry: types only. The register is rpc/encoded, which gowsdl's client cannot
// speak; that client is hand-written on etree (see README.md).
//
// Keep each directive on one line, without quotes: the test runs these exact
// commands, with -o pointed at a temporary folder.

//go:generate go run ./internal/gowsdlgen -wsdl EgovEndpoint.wsdl -p endpoint -o endpoint/endpoint.go -drop-schema http://schemas.microsoft.com/2003/10/Serialization/
//go:generate go run ./internal/gowsdlgen -wsdl EgovRegistry.wsdl -p registry -o registry/registry.go -types-only
