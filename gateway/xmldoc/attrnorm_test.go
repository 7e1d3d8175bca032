package xmldoc

// normalizeAttrWhitespace applies XML 1.0 §3.3.3 to attribute values on the
// raw bytes: every literal tab, line feed, carriage return (and CR LF pair)
// inside a quoted attribute value becomes one space. encoding/xml skips this
// step, and after it has run a literal newline can no longer be told from a
// &#xA; reference, which must stay a newline; signatures depend on the
// difference. The input is returned unchanged (not copied) when nothing moves.
func refNormalizeAttrWhitespace(b []byte) []byte {
	var out []byte // nil until the first change
	last := 0      // b[:last] is already in out
	i := 0
	for i < len(b) {
		if b[i] != '<' {
			i++
			continue
		}
		switch {
		case hasAt(b, i, "<!--"):
			i = skipPast(b, i+4, "-->")
		case hasAt(b, i, "<![CDATA["):
			i = skipPast(b, i+9, "]]>")
		case hasAt(b, i, "<?"):
			i = skipPast(b, i+2, "?>")
		case hasAt(b, i, "<!"):
			i = skipPast(b, i+2, ">") // refused later; just do not misread it
		default:
			// A start or end tag: walk to '>' honouring quotes.
			i++
			var quote byte
			for i < len(b) {
				c := b[i]
				if quote == 0 {
					if c == '"' || c == '\'' {
						quote = c
					} else if c == '>' {
						break
					}
					i++
					continue
				}
				switch c {
				case quote:
					quote = 0
				case '\t', '\n', '\r':
					out = append(out, b[last:i]...)
					out = append(out, ' ')
					if c == '\r' && i+1 < len(b) && b[i+1] == '\n' {
						i++
					}
					last = i + 1
				}
				i++
			}
		}
	}
	if out == nil {
		return b
	}
	return append(out, b[last:]...)
}

func hasAt(b []byte, i int, s string) bool {
	return len(b)-i >= len(s) && string(b[i:i+len(s)]) == s
}

func skipPast(b []byte, i int, end string) int {
	for ; i < len(b); i++ {
		if hasAt(b, i, end) {
			return i + len(end)
		}
	}
	return len(b)
}
