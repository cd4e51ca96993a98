// Package logs owns where the output of a node's containers goes: one file per container under
// <data dir>/logs, named by Pod and container, that the runtime appends to and a reader (a logs
// command) finds without asking the runtime.
package logs

import (
	"path/filepath"

	"github.com/gitfleet/gitfleet/api"
)

// Dir is the directory of the container logs of the node whose data dir is dataDir.
func Dir(dataDir string) string {
	return filepath.Join(dataDir, "logs")
}

// Path is the file a container's output goes to: <dataDir>/logs/<namespace>_<pod>_<container>.log.
// Each attempt (start) of the container writes it afresh: NewAttempt keeps the one before.
func Path(dataDir string, key api.PodKey, container string) string {
	return filepath.Join(Dir(dataDir), key.Namespace+"_"+key.Name+"_"+container+".log")
}
