package strict

import (
	"bytes"
	"errors"
	"io"
	"regexp"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// Parse returns the root node of each non-empty document in data: multi-document YAML, or one
// JSON value when isJSON. Documents before a syntax error are returned with the error, located
// at its line; bytes no manifest may hold (CheckText) fail before parsing.
func Parse(data []byte, isJSON bool) ([]*yaml.Node, *Error) {
	if line, msg := CheckText(data, isJSON); line > 0 {
		return nil, &Error{Line: line, Message: msg}
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil
	}
	if isJSON {
		root, line, err := ParseJSON(data)
		if err != nil {
			return nil, &Error{Line: line, Message: "invalid json: " + err.Error()}
		}
		return []*yaml.Node{root}, nil
	}
	return parseYAML(data)
}

// yamlErrLine splits yaml.v3's "yaml: line N: message" errors.
var yamlErrLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func parseYAML(data []byte) ([]*yaml.Node, *Error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var roots []*yaml.Node
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return roots, nil
		}
		if err != nil {
			e := &Error{Line: 1, Message: "invalid yaml: " + strings.TrimPrefix(err.Error(), "yaml: ")}
			if m := yamlErrLine.FindStringSubmatch(err.Error()); m != nil {
				e.Line, _ = strconv.Atoi(m[1])
				e.Message = "invalid yaml: " + m[2]
			}
			return roots, e
		}
		// "---" alone, or a document of only comments, parses to an empty or null document.
		if len(doc.Content) == 0 || IsNull(doc.Content[0]) {
			continue
		}
		roots = append(roots, doc.Content[0])
	}
}
