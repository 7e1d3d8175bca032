package daeu

import (
	"fmt"
)

// Request is a call as the test register receives it.
type Request struct {
	Op    Op
	Param string // the one input part; "" for GetAllRecords
}

// UnknownOperationError is a call of an operation the WSDL does not define.
type UnknownOperationError struct{ Name string }

func (e *UnknownOperationError) Error() string {
	// NuSOAP's wording, so clients see what the real register says.
	return fmt.Sprintf("Operation '%s' is not defined in the WSDL for this service", e.Name)
}

// DecodeRequest reads a call the way NuSOAP's server does: it dispatches on
// the Body wrapper's local name in uri:egovmsg (whatever the SOAPAction and
// prefix), and takes the part by name, else by position, with or without
// xsi:type. ext/soap and NuSOAP clients both get through.
func DecodeRequest(b []byte, contentType string) (*Request, error) {
	body, ids, err := parseEnvelope(b, contentType)
	if err != nil {
		return nil, err
	}
	w := firstChild(body)
	if w == nil {
		return nil, fmt.Errorf("empty SOAP Body")
	}
	if w.NamespaceURI() != NS {
		return nil, &UnknownOperationError{Name: w.Tag}
	}
	op := Op(w.Tag)
	if !op.Valid() {
		return nil, &UnknownOperationError{Name: w.Tag}
	}
	req := &Request{Op: op}
	if op.Part() == "" {
		return req, nil
	}
	arg := firstChild(w)
	for _, c := range w.ChildElements() {
		if c.Tag == op.Part() {
			arg = c
			break
		}
	}
	if arg == nil {
		return nil, fmt.Errorf("%s: missing parameter %s", op, op.Part())
	}
	d := &decoder{op: op, ids: ids}
	if req.Param, err = d.scalar(arg); err != nil {
		return nil, err
	}
	return req, nil
}
