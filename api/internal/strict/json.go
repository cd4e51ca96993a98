package strict

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// ParseJSON reads one JSON value into the node tree the YAML parser would produce, with lines,
// so that one strict walker serves both formats. JSON is not parsed as YAML because yaml.v3
// rejects valid JSON (the "\/" escape, lone surrogates) and a JSON file deserves JSON's errors.
// On error it returns the line the error is on.
func ParseJSON(data []byte) (*yaml.Node, int, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // editors on Windows add a BOM
	p := &jsonParser{dec: json.NewDecoder(bytes.NewReader(data)), data: data, line: 1}
	p.dec.UseNumber()
	root, err := p.value()
	if err == nil {
		if _, extra := p.dec.Token(); !errors.Is(extra, io.EOF) {
			err = errors.New("unexpected data after the top-level value; a JSON file holds one object")
		}
	}
	if err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			p.advance(syn.Offset)
		} else if errors.Is(err, errTruncated) {
			p.advance(int64(len(bytes.TrimRight(data, " \t\r\n"))))
		}
		return nil, p.line, err
	}
	return root, 0, nil
}

var errTruncated = errors.New("unexpected end of file")

// MaxJSONDepth bounds the nesting of a JSON file, which the parser reads by recursion: no
// manifest nests deeper than about 15 levels, and a megabyte of "[" must not exhaust the
// stack. (yaml.v3 stops YAML at 10,000 levels without recursion.)
const MaxJSONDepth = 100

type jsonParser struct {
	dec  *json.Decoder
	data []byte
	pos  int64 // bytes of data already counted into line
	line int
	// depth counts the objects and arrays open.
	depth int
}

// advance moves the line count to offset; offsets only grow, so counting stays linear.
func (p *jsonParser) advance(offset int64) {
	offset = min(offset, int64(len(p.data)))
	if offset > p.pos {
		p.line += bytes.Count(p.data[p.pos:offset], []byte("\n"))
		p.pos = offset
	}
}

func (p *jsonParser) value() (*yaml.Node, error) {
	tok, err := p.dec.Token()
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, errTruncated
	}
	if err != nil {
		return nil, err
	}
	// The offset is the end of the token, which is on the token's line: JSON strings cannot
	// hold a raw newline.
	p.advance(p.dec.InputOffset())
	scalar := func(tag, v string) *yaml.Node {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: v, Line: p.line}
	}
	switch v := tok.(type) {
	case json.Delim:
		if v == '{' {
			return p.collection(yaml.MappingNode, "!!map")
		}
		return p.collection(yaml.SequenceNode, "!!seq")
	case string:
		n := scalar("!!str", v)
		n.Style = yaml.DoubleQuotedStyle // a JSON string is quoted, whatever it says
		return n, nil
	case json.Number:
		if strings.ContainsAny(string(v), ".eE") {
			return scalar("!!float", string(v)), nil
		}
		return scalar("!!int", string(v)), nil
	case bool:
		return scalar("!!bool", strconv.FormatBool(v)), nil
	case nil:
		return scalar("!!null", "null"), nil
	}
	return nil, fmt.Errorf("unexpected token %v", tok)
}

// collection reads the members of an object (keys and values alternate, as in a yaml.Node
// mapping) or an array, up to and including the closing delimiter.
func (p *jsonParser) collection(kind yaml.Kind, tag string) (*yaml.Node, error) {
	if p.depth++; p.depth > MaxJSONDepth {
		return nil, fmt.Errorf("nested deeper than %d levels", MaxJSONDepth)
	}
	defer func() { p.depth-- }()
	n := &yaml.Node{Kind: kind, Tag: tag, Line: p.line}
	for p.dec.More() {
		item, err := p.value()
		if err != nil {
			return nil, err
		}
		n.Content = append(n.Content, item)
	}
	_, err := p.dec.Token()
	return n, err
}
