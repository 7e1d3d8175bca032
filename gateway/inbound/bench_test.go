package inbound

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"strings"
	"testing"

	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/soap"
	"github.com/seosgw/seosgw/gateway/testkit"
	"github.com/seosgw/seosgw/gateway/testkit/peakheap"
)

// BenchmarkHostileShapes is issue 11's second item measured: requests
// built to make a reader hold far more than they weigh (attribute bombs,
// huge names, wide DocAddData, namespace floods, deep nesting, text where
// the tree keeps it), and a large honest one for comparison. Each goes
// through the pipeline as the endpoint reads it; peak-heap/byte is the
// live heap's peak above what it was, over the request's size, and
// peak-heap-MiB the peak itself: the per-request bound the configuration's
// worst case (max_concurrent × it) rests on. Every hostile request must be
// refused.
func BenchmarkHostileShapes(b *testing.B) {
	w := newWorld(b, options{maxBytes: 96 << 20})
	shapes := hostileShapes(b, w)
	for _, s := range shapes {
		b.Run(s.name, func(b *testing.B) {
			b.SetBytes(int64(len(s.body)))
			var peak uint64
			var reason string
			for i := 0; i < b.N; i++ {
				pk := peakheap.Measure(func() {
					resp := w.pipeline.Handle(context.Background(), Request{Body: bytes.NewReader(s.body), Declared: int64(len(s.body)), ClientCert: w.a.id.Cert})
					reason = outcome(resp)
				})
				peak = max(peak, pk)
			}
			if (reason == "accepted") != s.honest {
				b.Fatalf("%s: %s", s.name, reason)
			}
			b.ReportMetric(float64(peak)/float64(len(s.body)), "peak-heap/byte")
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
		})
	}
}

type shape struct {
	name   string
	body   []byte
	honest bool // a valid message, accepted
}

// hostileShapes builds each shape at about 60 MiB on the wire (the size
// of the attacks), escaped in a Submit envelope.
func hostileShapes(tb testing.TB, w *world) []shape {
	const wire = 60 << 20
	size := wire
	envelope := func(message string) []byte {
		env, err := soap.Submit([]byte(message))
		if err != nil {
			tb.Fatal(err)
		}
		return env
	}
	msg, err := registration(w.a.entity, w.b.entity, seos.NewGUID()).Marshal()
	if err != nil {
		tb.Fatal(err)
	}
	// inAddData puts content into a valid message's DocAddData.
	inAddData := func(content string) string {
		return strings.Replace(string(msg), "</Document>", "<DocAddData>"+content+"</DocAddData></Document>", 1)
	}
	// repeat fills the shape so that, escaped, it takes size on the wire.
	repeat := func(unit string) string {
		var esc bytes.Buffer
		xml.EscapeText(&esc, []byte(unit))
		return strings.Repeat(unit, size/esc.Len())
	}
	attrs := func(n int) string {
		var s strings.Builder
		for i := 0; i < n; i++ {
			fmt.Fprintf(&s, ` a%d="1"`, i)
		}
		return s.String()
	}
	honest := registration(w.a.entity, w.b.entity, seos.NewGUID())
	honest.Body.RegistrationRequest.Document.Attachments[0].Body = seos.Base64Of(bytes.Repeat([]byte("%PDF-1.4 "), 20<<20/9))
	return []shape{
		{name: "envelope attribute bomb", body: []byte(`<s:Envelope xmlns:s="` + soap.EnvelopeNS + `"` + repeat(` a="1"`) + `><s:Body/></s:Envelope>`)},
		{name: "envelope attributes spread", body: []byte(`<s:Envelope xmlns:s="` + soap.EnvelopeNS + `"><s:Header>` + repeat(`<h`+attrs(200)+`/>`) + `</s:Header><s:Body/></s:Envelope>`)},
		{name: "message attribute bomb", body: envelope(inAddData(`<x` + repeat(` b="1"`) + `/>`))},
		{name: "message attributes spread", body: envelope(inAddData(repeat(`<x` + attrs(200) + `/>`)))},
		{name: "huge element name", body: envelope(inAddData(`<` + repeat("n") + `/>`))},
		{name: "wide DocAddData", body: envelope(inAddData(repeat(`<a/>`)))},
		{name: "text in DocAddData", body: envelope(inAddData(repeat(`текст `)))},
		{name: "namespace flood", body: envelope(inAddData(repeat(`<p:a xmlns:p="urn:x"/>`)))},
		{name: "deep nesting", body: envelope(inAddData(strings.Repeat("<a>", size/20) + strings.Repeat("</a>", size/20)))},
		{name: "honest 20 MiB", body: envelope(string(testkit.Sign(tb, w.a.id, honest))), honest: true},
	}
}

// outcome names what the pipeline answered.
func outcome(resp Response) string {
	result, err := soap.ParseSubmitResponse(resp.Body)
	if err != nil {
		return "fault: " + err.Error()
	}
	m, _, err := seos.Parse(result)
	switch {
	case err != nil:
		return "reply: " + err.Error()
	case m.Body.Error != nil:
		return "refused: " + m.Body.Error.Description
	case m.Body.StatusResponse != nil && m.Body.StatusResponse.Status == seos.StatusWaitRegistration:
		return "accepted"
	}
	return "reply " + string(m.Header.MessageType)
}
