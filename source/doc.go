// Package source follows one branch of a git repository with go-git: it fetches through a local
// bare clone (HTTPS with a token or password, SSH with a key and known hosts, credentials never
// shown), describes commits, and loads the manifest files under a path with the rules of a
// commit (size limits, no symlink out of the tree). It reads and writes no etcd key.
package source
