package source

import (
	"bufio"
	"bytes"
	"path"
	"strings"
)

// IgnoreFile, at the root of the manifests, lists paths gitfleet does not read: one pattern a
// line, matched with path.Match against the slash path relative to that root (or against the
// file's base name when the pattern has no '/'); a pattern ending in '/' skips a directory and
// everything under it. Blank lines and lines starting with '#' are ignored.
const IgnoreFile = ".gitfleetignore"

// maxIgnoreBytes bounds the ignore file, which is read before any limit on manifests applies.
const maxIgnoreBytes = 64 << 10

// ignore decides which paths under the manifests root are not manifests of the tree: those
// under a hidden directory (.github, .gitlab: CI configuration, not cluster objects) and those
// the ignore file names.
type ignore struct{ patterns []string }

func parseIgnore(b []byte) ignore {
	var ig ignore
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if p := strings.TrimSpace(sc.Text()); p != "" && !strings.HasPrefix(p, "#") {
			ig.patterns = append(ig.patterns, strings.TrimPrefix(p, "/"))
		}
	}
	return ig
}

// skips reports whether the file rel (slash path relative to the manifests root) is ignored.
func (ig ignore) skips(rel string) bool {
	dir := path.Dir(rel)
	for _, d := range strings.Split(dir, "/") {
		if strings.HasPrefix(d, ".") && d != "." {
			return true
		}
	}
	for _, p := range ig.patterns {
		if prefix, isDir := strings.CutSuffix(p, "/"); isDir {
			if dir == prefix || strings.HasPrefix(dir, prefix+"/") {
				return true
			}
			continue
		}
		if ok, _ := path.Match(p, rel); ok {
			return true
		}
		if ok, _ := path.Match(p, path.Base(rel)); ok && !strings.Contains(p, "/") {
			return true
		}
	}
	return false
}
