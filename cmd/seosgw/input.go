package main

import (
	"bytes"
	"fmt"
	"io"
	"os"

	"github.com/seosgw/seosgw/gateway/blob"
	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/xmldsig"
	"github.com/seosgw/seosgw/gateway/xmltok"
)

// openInput returns what opens FILE (again, when a second read is needed),
// or standard input read once into memory when no file (or "-") is given.
func openInput(args []string, s stdio) (func() (io.ReadCloser, error), string, error) {
	switch {
	case len(args) > 1:
		return nil, "", fmt.Errorf("expected at most one FILE, got %d arguments", len(args))
	case len(args) == 0 || args[0] == "-":
		b, err := readAllLimited(s.in)
		return func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }, "stdin", err
	}
	name := args[0]
	if _, err := os.Stat(name); err != nil {
		return nil, name, err
	}
	return func() (io.ReadCloser, error) { return os.Open(name) }, name, nil
}

// readMessage reads a message in one pass, its attachments decoded into
// files (in files) beside the model rather than kept as base64 text.
func readMessage(r io.Reader, files *blob.Store) (*seos.Message, error) {
	var bodies []*blob.Spill
	m, _, err := seos.ReadMessage(xmltok.NewSize(r, xmltok.Limits{}, 64<<10), seos.ReadOptions{MaxTreeBytes: -1, MaxTreeNodes: -1,
		Body: func(int) (io.Writer, error) {
			sp := files.NewSpill(128 << 10)
			bodies = append(bodies, sp)
			return sp, nil
		}})
	if err != nil {
		for _, sp := range bodies {
			sp.Discard()
		}
		return nil, err
	}
	for i, sp := range bodies {
		k, err := sp.Keep()
		if err != nil {
			return nil, err
		}
		m.Body.RegistrationRequest.Document.Attachments[i].Stored = &seos.StoredBody{Size: k.Size, Data: k.Data, Blob: k.Ref}
	}
	return m, nil
}

// tempFiles is a file store for one command, removed when it ends.
func tempFiles() (*blob.Store, func(), error) {
	dir, err := os.MkdirTemp("", "seosgw-")
	if err != nil {
		return nil, nil, err
	}
	s, err := blob.Open(dir)
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	return s, func() { os.RemoveAll(dir) }, nil
}

// storeOpener opens attachment bodies kept in files.
func storeOpener(files *blob.Store) xmldsig.Opener {
	return func(s *seos.StoredBody) (io.ReadCloser, error) { return files.Open(s.Blob) }
}
