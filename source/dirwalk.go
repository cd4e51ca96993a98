package source

import (
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/gitfleet/gitfleet/api"
)

// dirWalk is one walk of LoadDir over a working tree.
type dirWalk struct {
	c *collector
	// dir is the tree's root, root the manifests' directory within it.
	dir, root string
	// read holds the content of each file with more than one link, so that a tree of hard
	// links to one file holds it in memory once.
	read map[fileID][]byte
}

// fileID names a file on disk whatever its paths.
type fileID struct{ dev, ino uint64 }

// visit handles one entry of a working tree walk.
func (w *dirWalk) visit(p string, d fs.DirEntry) error {
	rel, err := filepath.Rel(w.dir, p)
	if err != nil {
		return err
	}
	inRoot, err := filepath.Rel(w.root, p)
	if err != nil {
		return err
	}
	rel, inRoot = filepath.ToSlash(rel), filepath.ToSlash(inRoot)
	switch {
	case d.IsDir() && inRoot != "." && w.c.ignore.skips(inRoot+"/x"):
		return filepath.SkipDir // hidden or ignored: .git, .github, ...
	case d.IsDir():
		return nil
	case w.c.ignore.skips(inRoot):
		return nil
	case d.Type()&fs.ModeSymlink != 0:
		target, err := os.Readlink(p)
		if err != nil {
			return err
		}
		w.c.symlink(rel, target)
		return nil
	case !d.Type().IsRegular() || !api.IsManifestFile(rel):
		return nil
	}
	info, err := d.Info()
	if err != nil {
		return err
	}
	if !w.c.fits(rel, info.Size()) {
		return nil
	}
	st, linked := info.Sys().(*syscall.Stat_t)
	linked = linked && st.Nlink > 1
	id := fileID{}
	if linked {
		id = fileID{dev: uint64(st.Dev), ino: st.Ino}
		if b, ok := w.read[id]; ok {
			w.c.add(rel, b)
			return nil
		}
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	if linked {
		w.read[id] = b
	}
	w.c.add(rel, b)
	return nil
}
