package source

import (
	"errors"
	"io"

	"github.com/gitfleet/gitfleet/api"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// manifestWalk is one walk of Manifests: the blobs it names, the files it reads into c, and
// the blobs the caller knows.
type manifestWalk struct {
	storer       storer.EncodedObjectStorer
	c            *collector
	blobs, known map[string]string
}

// readIgnore reads IgnoreFile from the manifests' tree, when it has one.
func (w *manifestWalk) readIgnore(tree *object.Tree) error {
	f, err := tree.File(IgnoreFile)
	if errors.Is(err, object.ErrFileNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if f.Size > maxIgnoreBytes {
		w.c.readIgnore(make([]byte, f.Size)) // reports the size
		return nil
	}
	b, err := readBlob(&f.Blob)
	if err == nil {
		w.c.readIgnore(b)
	}
	return err
}

// visit handles one entry of the tree, at rel in the repository and inRoot in the manifests'
// tree: it names the blob of a manifest and reads it unless the caller knows it. Directories
// and submodules are skipped, as Tree.Files skips them; so are hidden and ignored paths. Every
// manifest path counts its blob's size toward api.MaxRepoBytes, known or not, so that a commit
// passes or fails the limit whatever the caller knows; identical blobs at two paths count twice,
// as each path is decoded.
func (w *manifestWalk) visit(rel, inRoot string, e object.TreeEntry) error {
	switch {
	case e.Mode == filemode.Dir || e.Mode == filemode.Submodule || w.c.ignore.skips(inRoot):
		return nil
	case e.Mode == filemode.Symlink:
		blob, err := object.GetBlob(w.storer, e.Hash)
		if err != nil {
			return err
		}
		target, err := readBlob(blob)
		if err != nil {
			return err
		}
		w.c.symlink(rel, string(target))
		return nil
	case !api.IsManifestFile(rel):
		return nil
	}
	hash := e.Hash.String()
	w.blobs[rel] = hash
	if w.known[rel] == hash {
		size, err := w.size(e.Hash)
		if err == nil {
			w.c.fits(rel, size)
		}
		return err
	}
	blob, err := object.GetBlob(w.storer, e.Hash)
	if err != nil {
		return err
	}
	if !w.c.fits(rel, blob.Size) {
		return nil
	}
	b, err := readBlob(blob)
	if err != nil {
		return err
	}
	w.c.add(rel, b)
	return nil
}

// size returns the size of a blob, from its header when the storer can read only that.
func (w *manifestWalk) size(h plumbing.Hash) (int64, error) {
	if s, ok := w.storer.(interface {
		EncodedObjectSize(plumbing.Hash) (int64, error)
	}); ok {
		return s.EncodedObjectSize(h)
	}
	blob, err := object.GetBlob(w.storer, h)
	if err != nil {
		return 0, err
	}
	return blob.Size, nil
}

func readBlob(blob *object.Blob) ([]byte, error) {
	r, err := blob.Reader()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}
