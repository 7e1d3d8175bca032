// Command gowsdlgen runs gowsdl (github.com/hooklift/gowsdl, at the version go.mod
// pins) over one of the project's WSDLs; `go generate ./wsdl/...` calls it.
//
// It does what gowsdl's own command does (generate, gofmt, write) plus two things
// our WSDLs need, so that the committed output is code we can stand behind:
//
//	-drop-schema NS  hide the schema with target namespace NS from gowsdl. The
//	                 endpoint WSDL carries WCF's serialization schema for
//	                 compatibility; gowsdl turns it into types named int and byte
//	                 that shadow Go's own.
//	-types-only      write gowsdl's types but not its client. gowsdl assumes
//	                 document/literal; for the register's rpc/encoded binding its
//	                 client sends bodies the register cannot read and decodes every
//	                 answer as empty without an error (see wsdl/README.md).
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"go/format"
	"log"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/beevik/etree"
	gen "github.com/hooklift/gowsdl"
)

const (
	nsWSDL = "http://schemas.xmlsoap.org/wsdl/"
	nsXSD  = "http://www.w3.org/2001/XMLSchema"
)

func main() {
	var (
		wsdlPath   = flag.String("wsdl", "", "WSDL file to generate from")
		pkg        = flag.String("p", "", "Go package name of the output")
		out        = flag.String("o", "", "output file (its folder is created)")
		dropSchema = flag.String("drop-schema", "", "target namespace of a schema to hide from gowsdl")
		typesOnly  = flag.Bool("types-only", false, "write the types but not the generated client")
	)
	flag.Parse()
	if *wsdlPath == "" || *pkg == "" || *out == "" || flag.NArg() != 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*wsdlPath, *pkg, *out, *dropSchema, *typesOnly); err != nil {
		fmt.Fprintln(os.Stderr, "gowsdlgen:", err)
		os.Exit(1)
	}
}

func run(wsdlPath, pkg, out, dropSchema string, typesOnly bool) error {
	src := wsdlPath
	if dropSchema != "" {
		tmp, err := os.MkdirTemp("", "gowsdlgen-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		src = filepath.Join(tmp, filepath.Base(wsdlPath))
		if err := writeWithoutSchema(wsdlPath, src, dropSchema); err != nil {
			return err
		}
	}

	// gowsdl v0.5.0's Start stores the types and the operations into one map from
	// two goroutines; now and then that dies with "concurrent map writes". On one
	// P those writes cannot overlap: runtime map code is never preempted midway.
	runtime.GOMAXPROCS(1)

	// gowsdl reports progress and some failures only through the standard logger.
	var logs bytes.Buffer
	log.SetFlags(0)
	log.SetOutput(&logs)
	g, err := gen.NewGoWSDL(src, pkg, false, true)
	if err != nil {
		return fmt.Errorf("gowsdl: %w", err)
	}
	code, err := g.Start()
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		if line == "" || strings.HasPrefix(line, "Reading file") ||
			(typesOnly && strings.Contains(line, "doesn't have any parts")) { // about the client we drop
			continue
		}
		fmt.Fprintln(os.Stderr, "gowsdl:", line)
	}
	if err != nil {
		return fmt.Errorf("gowsdl: %w", err)
	}
	if len(code["types"]) == 0 || (!typesOnly && len(code["operations"]) == 0) {
		return errors.New("gowsdl produced no code; see its messages above")
	}

	var buf bytes.Buffer
	buf.Write(code["header"])
	buf.Write(code["types"])
	if typesOnly {
		// The header imports what the client needs; keep those imports used.
		buf.WriteString("\n// The client gowsdl generates for this WSDL is left out (gowsdlgen -types-only).\n" +
			"var _ context.Context\nvar _ soap.XSDDateTime\n")
	} else {
		buf.Write(code["operations"])
	}
	formatted, err := format.Source(buf.Bytes())
	if err != nil {
		return fmt.Errorf("gofmt of gowsdl's output: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	return os.WriteFile(out, formatted, 0o644)
}

// writeWithoutSchema copies a WSDL, leaving out the wsdl:types schema whose
// targetNamespace is ns. It fails when there is no such schema, so a renamed
// namespace cannot silently stop the filtering.
func writeWithoutSchema(from, to, ns string) error {
	doc := etree.NewDocument()
	if err := doc.ReadFromFile(from); err != nil {
		return fmt.Errorf("read %s: %w", from, err)
	}
	removed := 0
	if root := doc.Root(); root != nil {
		for _, types := range root.ChildElements() {
			if types.Tag != "types" || types.NamespaceURI() != nsWSDL {
				continue
			}
			for _, schema := range types.ChildElements() {
				if schema.Tag == "schema" && schema.NamespaceURI() == nsXSD &&
					schema.SelectAttrValue("targetNamespace", "") == ns {
					types.RemoveChild(schema)
					removed++
				}
			}
		}
	}
	if removed == 0 {
		return fmt.Errorf("%s has no schema with targetNamespace %q", from, ns)
	}
	return doc.WriteToFile(to)
}
