package logserver

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/nodeagent/logs"
)

// request is a log request, its names validated.
type request struct {
	key       api.PodKey
	container string
	follow    bool
	previous  bool
	// tail is how many of the last lines to send; -1: all.
	tail int
}

// String names the container as the error messages do.
func (q request) String() string {
	return fmt.Sprintf("container %q of Pod %s", q.container, q.key)
}

// podKey reads the Pod's names from the path; only valid names make a file's path, so none
// leaves the logs dir.
func podKey(r *http.Request) (api.PodKey, error) {
	key := api.PodKey{Namespace: r.PathValue("namespace"), Name: r.PathValue("pod")}
	if why := api.CheckLabel(key.Namespace); why != "" {
		return key, fmt.Errorf("namespace: %s", why)
	}
	if why := api.CheckSubdomain(key.Name); why != "" {
		return key, fmt.Errorf("pod: %s", why)
	}
	return key, nil
}

// parseRequest validates the names and the query of a log request.
func parseRequest(r *http.Request) (request, error) {
	key, err := podKey(r)
	if err != nil {
		return request{}, err
	}
	q := request{key: key, container: r.PathValue("container"), tail: -1}
	if why := api.CheckLabel(q.container); why != "" {
		return request{}, fmt.Errorf("container: %s", why)
	}
	query := r.URL.Query()
	for name, dst := range map[string]*bool{"follow": &q.follow, "previous": &q.previous} {
		if v := query.Get(name); v != "" {
			if *dst, err = strconv.ParseBool(v); err != nil {
				return request{}, fmt.Errorf("%s=%q: want true or false", name, v)
			}
		}
	}
	if v := query.Get("tail"); v != "" {
		if q.tail, err = strconv.Atoi(v); err != nil || q.tail < 0 {
			return request{}, fmt.Errorf("tail=%q: want a number of lines, 0 or more", v)
		}
	}
	return q, nil
}

// serveLog answers GET /v1/logs/{namespace}/{pod}/{container}.
func (h *Handler) serveLog(w http.ResponseWriter, r *http.Request) {
	q, err := parseRequest(r)
	if err != nil {
		httpError(w, http.StatusBadRequest, err.Error())
		return
	}
	path := logs.Path(h.dataDir, q.key, q.container)
	open := path
	if q.previous {
		open = logs.Previous(path)
	}
	f, err := os.Open(open)
	if err != nil {
		code, msg := http.StatusInternalServerError, fmt.Sprintf("open the log of %s: %v", q, err)
		if errors.Is(err, fs.ErrNotExist) {
			code, msg = http.StatusNotFound, h.missing(q, path)
		}
		httpError(w, code, msg)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		httpError(w, http.StatusInternalServerError, fmt.Sprintf("read the log of %s: %v", q, err))
		return
	}
	off := int64(0)
	if q.tail >= 0 {
		if off, err = tailOffset(f, st.Size(), q.tail, readBlock); err != nil {
			httpError(w, http.StatusInternalServerError, fmt.Sprintf("read the log of %s: %v", q, err))
			return
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	out := newStreamWriter(w)
	if !q.follow || q.previous { // a previous attempt has ended: its log is whole
		_, err = copyFrom(out, f, off, st.Size())
	} else {
		out.unbound()
		err = h.follow(r.Context(), out, f, path, off)
	}
	if err != nil && r.Context().Err() == nil {
		h.log.Debug("log stream ended", "container", q.container, "pod", q.key, "err", err)
	}
}

// missing says why the log of q is not there.
func (h *Handler) missing(q request, path string) string {
	if _, err := os.Stat(path); q.previous && err == nil {
		return fmt.Sprintf("%s has no previous attempt on node %s", q, h.opts.Node)
	}
	return fmt.Sprintf("%s has no log on node %s (no such Pod or container here, or it has not started)", q, h.opts.Node)
}

// containerList is the answer of GET /v1/logs/{namespace}/{pod}.
type containerList struct {
	Namespace  string   `json:"namespace"`
	Pod        string   `json:"pod"`
	Node       string   `json:"node"`
	Containers []string `json:"containers"`
}

// serveContainers answers GET /v1/logs/{namespace}/{pod}: the Pod's containers that have a
// log on this node, from the files alone, for a client that may not read the Pod (a worker
// host's, whose node may read only its own Pods).
func (h *Handler) serveContainers(w http.ResponseWriter, r *http.Request) {
	key, err := podKey(r)
	if err != nil {
		httpError(w, http.StatusBadRequest, err.Error())
		return
	}
	names, err := containersWithLogs(h.dataDir, key)
	if err != nil {
		httpError(w, http.StatusInternalServerError, err.Error())
		return
	}
	if len(names) == 0 {
		httpError(w, http.StatusNotFound, fmt.Sprintf("Pod %s has no logs on node %s", key, h.opts.Node))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(containerList{Namespace: key.Namespace, Pod: key.Name, Node: h.opts.Node, Containers: names})
}

// containersWithLogs lists, sorted, the containers of key with a log or a previous one. Names
// hold no '_', so <namespace>_<pod>_ starts no other Pod's files.
func containersWithLogs(dataDir string, key api.PodKey) ([]string, error) {
	prefix := strings.TrimSuffix(logs.Path(dataDir, key, ""), ".log")
	var names []string
	for _, pattern := range []string{prefix + "*.log", logs.Previous(prefix + "*.log")} {
		paths, err := filepath.Glob(pattern)
		if err != nil {
			return nil, fmt.Errorf("list the logs of Pod %s: %w", key, err)
		}
		for _, p := range paths {
			name := strings.TrimPrefix(p, prefix)
			name = name[:strings.Index(name, ".log")]
			if api.CheckLabel(name) == "" && !slices.Contains(names, name) {
				names = append(names, name)
			}
		}
	}
	slices.Sort(names)
	return names, nil
}

func httpError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	fmt.Fprintln(w, msg)
}

// writeStall bounds how long one chunk may take to reach a client: a client that stops
// reading loses its stream rather than holding a goroutine and a file for ever.
const writeStall = 30 * time.Second

// streamWriter writes each chunk to the client at once (flushed), each within writeStall.
type streamWriter struct {
	w  io.Writer
	rc *http.ResponseController
}

func newStreamWriter(w http.ResponseWriter) *streamWriter {
	return &streamWriter{w: w, rc: http.NewResponseController(w)}
}

// unbound lifts the server's read timeout for a stream that lasts as long as its client: the
// server's background read would otherwise time out and cancel the request.
func (s *streamWriter) unbound() {
	_ = s.rc.SetReadDeadline(time.Time{}) // not supported by a test recorder: nothing to lift
}

func (s *streamWriter) Write(b []byte) (int, error) {
	_ = s.rc.SetWriteDeadline(time.Now().Add(writeStall))
	n, err := s.w.Write(b)
	if err == nil {
		err = s.rc.Flush()
	}
	return n, err
}
