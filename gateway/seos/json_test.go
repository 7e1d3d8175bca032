package seos

import (
	"encoding/json"
	"testing"
)

func TestDocumentJSONRoundTrip(t *testing.T) {
	d := fullMessage().Body.RegistrationRequest.Document
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	var back Document
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	if back.AddData.String() != d.AddData.String() || back.About == nil || *back.About != *d.About || len(back.Attachments) != 2 {
		t.Errorf("JSON round trip lost data:\n%s", b)
	}
}
