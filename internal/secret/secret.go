// Package secret holds the string type of credentials, which never prints its value.
package secret

import "log/slog"

// Redacted replaces a secret wherever one would be printed.
const Redacted = "[redacted]"

// Secret is a credential (a git token or password, a join token's secret). It prints as
// [redacted] through fmt, slog and encoding (JSON, text); only an explicit string(s) conversion
// reveals it.
type Secret string

// String, GoString, LogValue and MarshalText print [redacted].
func (Secret) String() string               { return Redacted }
func (Secret) GoString() string             { return Redacted }
func (Secret) LogValue() slog.Value         { return slog.StringValue(Redacted) }
func (Secret) MarshalText() ([]byte, error) { return []byte(Redacted), nil }
