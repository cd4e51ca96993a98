package testimage

import (
	"fmt"
	"strings"
)

// BuildDocker writes a `docker save` tar archive at path holding the busybox image tagged ref:
// manifest.json, the config and the layer as <hex>/layer.tar, as Docker before 25 wrote them
// (no index.json, so importers read manifest.json's RepoTags).
func BuildDocker(path, ref string) error {
	layer, err := rootfsLayer(BusyboxPath)
	if err != nil {
		return fmt.Errorf("build layer: %w", err)
	}
	blobs := map[string][]byte{}
	layerDesc := addBlob(blobs, "", layer)
	config := mustJSON(imageConfig(layerDesc.Digest))
	configDesc := addBlob(blobs, "", config)
	layerHex := strings.TrimPrefix(layerDesc.Digest, "sha256:")
	configName := strings.TrimPrefix(configDesc.Digest, "sha256:") + ".json"
	manifest := mustJSON([]map[string]any{{
		"Config":   configName,
		"RepoTags": []string{ref},
		"Layers":   []string{layerHex + "/layer.tar"},
	}})
	w := newTarWriter()
	w.file("manifest.json", 0o644, manifest)
	w.file(configName, 0o644, config)
	w.dir(layerHex + "/")
	w.file(layerHex+"/layer.tar", 0o644, layer)
	return writeTar(path, w)
}
