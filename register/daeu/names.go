package daeu

import "fmt"

// Namespaces of the register's SOAP.
const (
	NS        = "uri:egovmsg" // the register's types and operation wrappers
	NSEnv     = "http://schemas.xmlsoap.org/soap/envelope/"
	NSEnc     = "http://schemas.xmlsoap.org/soap/encoding/"
	NSXSI     = "http://www.w3.org/2001/XMLSchema-instance"
	NSXSD     = "http://www.w3.org/2001/XMLSchema"
	ActionFmt = "uri:egovmsg/%s" // SOAPAction of an operation
)

// Op is a register operation.
type Op string

// The five operations of EgovRegistry.wsdl.
const (
	GetAllRecords         Op = "GetAllRecords"
	GetNewRecords         Op = "GetNewRecords"
	GetByEntityIdentifier Op = "GetByEntityIdentifier"
	GetByGuid             Op = "GetByGuid"
	GetByCertificateSN    Op = "GetByCertificateSN"
)

// Ops lists the operations in WSDL order.
var Ops = []Op{GetAllRecords, GetNewRecords, GetByEntityIdentifier, GetByGuid, GetByCertificateSN}

// Part is the name of the operation's one input part ("" for GetAllRecords).
func (o Op) Part() string {
	switch o {
	case GetNewRecords:
		return "date"
	case GetByEntityIdentifier:
		return "EntityIdentifier"
	case GetByGuid:
		return "guid"
	case GetByCertificateSN:
		return "CertificateSN"
	}
	return ""
}

// partType is the part's xsi:type as NuSOAP writes it.
func (o Op) partType() string {
	if o == GetNewRecords {
		return "xsd:dateTime"
	}
	return "xsd:string"
}

// Valid reports whether o is one of the five operations.
func (o Op) Valid() bool {
	for _, v := range Ops {
		if v == o {
			return true
		}
	}
	return false
}

// Action is the operation's SOAPAction value, unquoted.
func (o Op) Action() string { return fmt.Sprintf(ActionFmt, o) }
