package api

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Name rules, as Kubernetes has them (k8s.io/apimachinery/pkg/util/validation), simplified to
// the parts that matter here. Each check returns "" when s is valid, else why it is not.

var (
	dns1123Label     = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	dns1123Subdomain = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
	labelValue       = regexp.MustCompile(`^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$`)
	ianaSvcName      = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`)
	hasLetter        = regexp.MustCompile(`[a-z]`)
	configMapKey     = regexp.MustCompile(`^[-._a-zA-Z0-9]+$`)
	envVarName       = regexp.MustCompile(`^[-._a-zA-Z][-._a-zA-Z0-9]*$`)
)

// checkEnvName validates an environment variable name with the rule Kubernetes applied until
// 1.34 relaxed it to any printable ASCII but '=': the strict rule is the one every cluster takes.
func checkEnvName(s string) string {
	if !envVarName.MatchString(s) {
		return fmt.Sprintf("invalid name %q: use letters, digits, '-', '_' and '.', not starting with a digit ([-._a-zA-Z][-._a-zA-Z0-9]*)", s)
	}
	return ""
}

// checkLabel validates a DNS-1123 label: namespaces, container names.
func checkLabel(s string) string {
	if len(s) > 63 || !dns1123Label.MatchString(s) {
		return fmt.Sprintf("invalid name %q: use at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit", s)
	}
	return ""
}

// CheckLabel returns why s is not a DNS-1123 label, as namespaces and container names must be;
// "" when it is one.
func CheckLabel(s string) string { return checkLabel(s) }

// CheckSubdomain returns why s is not a DNS-1123 subdomain, as object and node names must be;
// "" when it is one.
func CheckSubdomain(s string) string { return checkSubdomain(s) }

// checkSubdomain validates a DNS-1123 subdomain: object names, node names.
func checkSubdomain(s string) string {
	if len(s) > 253 || !dns1123Subdomain.MatchString(s) {
		return fmt.Sprintf("invalid name %q: use at most 253 lowercase letters, digits, '-' and '.', starting and ending with a letter or digit", s)
	}
	return ""
}

// checkQualifiedName validates a label or annotation key: an optional DNS subdomain prefix and
// '/', then a name of at most 63 letters, digits, '-', '_' and '.'.
func checkQualifiedName(key string) string {
	name := key
	if prefix, rest, ok := strings.Cut(key, "/"); ok {
		if prefix == "" || len(prefix) > 253 || !dns1123Subdomain.MatchString(prefix) {
			return fmt.Sprintf("invalid key %q: the prefix before '/' must be a lowercase DNS subdomain such as example.com", key)
		}
		name = rest
	}
	if len(name) > 63 || !labelValue.MatchString(name) {
		return fmt.Sprintf("invalid key %q: the name must be 1 to 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit", key)
	}
	return ""
}

// checkLabelValue validates a label value: empty, or like the name part of a key.
func checkLabelValue(v string) string {
	if v != "" && (len(v) > 63 || !labelValue.MatchString(v)) {
		return fmt.Sprintf("invalid label value %q: use at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit", v)
	}
	return ""
}

// checkPortName validates an IANA service name, the form of a named container port.
func checkPortName(s string) string {
	if len(s) > 15 || !ianaSvcName.MatchString(s) || !hasLetter.MatchString(s) || strings.Contains(s, "--") {
		return fmt.Sprintf("invalid port name %q: use at most 15 lowercase letters, digits and '-', with at least one letter and no \"--\"", s)
	}
	return ""
}

// checkConfigMapKey validates a ConfigMap key, which may also name a file: at most 253 letters,
// digits, '-', '_' and '.', and neither "." nor "..", nor starting with "..".
func checkConfigMapKey(k string) string {
	if len(k) > 253 || !configMapKey.MatchString(k) {
		return fmt.Sprintf("invalid key %q: use at most 253 letters, digits, '-', '_' and '.'", k)
	}
	if k == "." || strings.HasPrefix(k, "..") {
		return fmt.Sprintf("invalid key %q: must not be '.' or start with '..'", k)
	}
	return ""
}

// checkRelativePath validates a path within a volume: relative, and with no ".." element, so
// that it cannot leave the volume.
func checkRelativePath(p string) string {
	switch {
	case p == "":
		return "required"
	case strings.HasPrefix(p, "/"):
		return fmt.Sprintf("invalid path %q: must be relative", p)
	case slices.Contains(strings.Split(p, "/"), ".."):
		return fmt.Sprintf("invalid path %q: must not contain '..'", p)
	}
	return ""
}
