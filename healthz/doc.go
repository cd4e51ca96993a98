// Package healthz serves /healthz (the process answers) and /readyz (each of its roles is
// ready, by its own check).
package healthz
