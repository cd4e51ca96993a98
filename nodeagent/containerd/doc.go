// Package containerd is the nodeagent.Runtime of a node backed by containerd: it pulls and
// imports images, creates each Pod's containers from their OCI spec with ConfigMap volumes and
// environment, runs and stops their tasks with output to log files, and lists what runs. It
// touches only containers carrying gitfleet's labels for its node, so a new agent adopts what an
// older one made. It is named after the daemon it drives; containerd's own Go client is package
// client since containerd 2.0, so the two names never meet in one file.
package containerd
