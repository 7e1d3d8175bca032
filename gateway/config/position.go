package config

import (
	"fmt"
	"regexp"
	"strconv"

	"go.yaml.in/yaml/v3"
)

type position struct{ line, column int }

// field is a value in the YAML text and the dotted name of its field
// ("endpoint.max_message_bytes", "tls.crl[1]").
type field struct {
	name, value string
}

// fieldsByPosition maps where each value starts in the YAML text to its
// field, so errors about a value can name the field and the line.
func fieldsByPosition(b []byte) map[position]field {
	var root yaml.Node
	out := map[position]field{}
	if yaml.Unmarshal(b, &root) != nil {
		return out
	}
	var walk func(n *yaml.Node, name string)
	walk = func(n *yaml.Node, name string) {
		if name != "" {
			out[position{n.Line, n.Column}] = field{name, n.Value}
		}
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, name)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				key := n.Content[i].Value
				if name != "" {
					key = name + "." + key
				}
				walk(n.Content[i+1], key)
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				walk(c, fmt.Sprintf("%s[%d]", name, i))
			}
		}
	}
	walk(&root, "")
	return out
}

var (
	// Our own value errors (see valueError) know the column.
	valueAt = regexp.MustCompile(`^line (\d+) column (\d+): (.*)$`)
	// yaml's: "line 9: cannot unmarshal !!str `5x` into time.Duration".
	yamlValueAt = regexp.MustCompile("^line (\\d+): (cannot unmarshal !!\\w+ `(.*)` into .*)$")
)

// nameField puts the field's name in front of a value error: "line L
// column C: msg" becomes "field (line L): msg". yaml's own errors say only
// the line; the field is found when one value on that line matches.
func nameField(e string, fields map[position]field) string {
	if m := valueAt.FindStringSubmatch(e); m != nil {
		line, _ := strconv.Atoi(m[1])
		col, _ := strconv.Atoi(m[2])
		if f, ok := fields[position{line, col}]; ok {
			return fmt.Sprintf("%s (line %d): %s", f.name, line, m[3])
		}
		return fmt.Sprintf("line %d: %s", line, m[3])
	}
	if m := yamlValueAt.FindStringSubmatch(e); m != nil {
		line, _ := strconv.Atoi(m[1])
		var names []string
		for p, f := range fields {
			if p.line == line && f.value == m[3] {
				names = append(names, f.name)
			}
		}
		if len(names) == 1 {
			return fmt.Sprintf("%s (line %d): %s", names[0], line, m[2])
		}
	}
	return e
}
