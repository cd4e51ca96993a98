package strict

import (
	"bytes"
	"fmt"
	"unicode/utf8"
)

// CheckText finds the first byte of data that no manifest may hold: a NUL, invalid UTF-8 and,
// in YAML, the control characters YAML forbids. The parsers report these on line 1 (yaml.v3)
// or not at all (encoding/json replaces invalid UTF-8), so this scan gives their real line.
// It returns 0 and "" when data is clean.
func CheckText(data []byte, isJSON bool) (line int, msg string) {
	if bytes.HasPrefix(data, []byte{0xff, 0xfe}) || bytes.HasPrefix(data, []byte{0xfe, 0xff}) {
		return 1, "file is UTF-16; gitfleet reads UTF-8"
	}
	line, col := 1, 1
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			return line, fmt.Sprintf("invalid UTF-8 (byte 0x%02x at column %d)", data[i], col)
		case r == 0:
			return line, fmt.Sprintf("NUL byte at column %d", col)
		case !isJSON && forbiddenInYAML(r, i):
			return line, fmt.Sprintf("control character %U at column %d is not allowed in YAML", r, col)
		case r == '\n':
			line, col = line+1, 0
		}
		i += size
		col++
	}
	return 0, ""
}

// forbiddenInYAML reports whether r, at byte offset i, is outside YAML's printable set
// (c-printable in the YAML spec, as yaml.v3's reader checks it).
func forbiddenInYAML(r rune, i int) bool {
	switch {
	case r == '\t' || r == '\n' || r == '\r' || r == 0x85:
		return false
	case r < 0x20 || (r >= 0x7f && r <= 0x9f):
		return true
	case r == 0xfeff:
		return i != 0 // a byte-order mark only opens a file
	}
	return r == 0xfffe || r == 0xffff
}
