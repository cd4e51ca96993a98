package gittest

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// SSHKey makes an ed25519 key pair, writes the private key in OpenSSH format to a file
// (encrypted with passphrase unless it is "") and returns the public key and the file.
func SSHKey(t testing.TB, passphrase string) (ssh.PublicKey, string) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatalf("generate key: %v", err)
	}
	var block *pem.Block
	if passphrase == "" {
		block, err = ssh.MarshalPrivateKey(priv, "gittest")
	} else {
		block, err = ssh.MarshalPrivateKeyWithPassphrase(priv, "gittest", []byte(passphrase))
	}
	if err != nil {
		t.Fatalf("marshal key: %v", err)
	}
	file := filepath.Join(t.TempDir(), "id_ed25519")
	if err := os.WriteFile(file, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatalf("write key: %v", err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatalf("public key: %v", err)
	}
	return sshPub, file
}

// ServeSSH serves the bare repository bareDir read-only over SSH on a loopback port: it accepts
// only the client key authorized, and runs git-upload-pack for the repository's path. It returns
// the URL (ssh://git@127.0.0.1:PORT/NAME.git) and the known_hosts line of its fresh ed25519 host
// key. The server stops when the test ends.
func ServeSSH(t testing.TB, bareDir string, authorized ssh.PublicKey) (url, hostKeyLine string) {
	t.Helper()
	_, hostPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatalf("generate host key: %v", err)
	}
	signer, err := ssh.NewSignerFromKey(hostPriv)
	if err != nil {
		t.Fatalf("host key signer: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	s := &sshServer{bare: bareDir, ln: ln, conns: map[net.Conn]bool{}}
	s.cfg = &ssh.ServerConfig{PublicKeyCallback: func(_ ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
		if bytes.Equal(key.Marshal(), authorized.Marshal()) {
			return nil, nil
		}
		return nil, errors.New("key not authorized")
	}}
	s.cfg.AddHostKey(signer)
	s.wg.Add(1)
	go s.serve()
	t.Cleanup(s.close)
	addr := ln.Addr().String()
	return fmt.Sprintf("ssh://git@%s/%s", addr, filepath.Base(bareDir)),
		knownhosts.Line([]string{addr}, signer.PublicKey())
}

// sshServer is a minimal SSH server that only runs git-upload-pack.
type sshServer struct {
	bare string
	cfg  *ssh.ServerConfig
	ln   net.Listener
	wg   sync.WaitGroup

	mu     sync.Mutex
	conns  map[net.Conn]bool
	closed bool
}

func (s *sshServer) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		if !s.track(c) {
			c.Close()
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer s.untrack(c)
			s.handleConn(c)
		}()
	}
}

// track records an open connection so close can end it; false means the server is closing.
func (s *sshServer) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.conns[c] = true
	}
	return !s.closed
}

func (s *sshServer) untrack(c net.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c)
	c.Close()
}

// close stops accepting, ends open connections and waits for their goroutines.
func (s *sshServer) close() {
	s.ln.Close()
	s.mu.Lock()
	s.closed = true
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *sshServer) handleConn(c net.Conn) {
	_, chans, reqs, err := ssh.NewServerConn(c, s.cfg)
	if err != nil {
		return
	}
	go ssh.DiscardRequests(reqs)
	for nc := range chans {
		if nc.ChannelType() != "session" {
			nc.Reject(ssh.UnknownChannelType, "only sessions")
			continue
		}
		ch, chReqs, err := nc.Accept()
		if err != nil {
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.session(ch, chReqs)
		}()
	}
}

// session answers the first exec request of a channel and refuses everything else.
func (s *sshServer) session(ch ssh.Channel, reqs <-chan *ssh.Request) {
	defer ch.Close()
	for req := range reqs {
		if req.Type != "exec" {
			req.Reply(false, nil)
			continue
		}
		var payload struct{ Command string }
		if err := ssh.Unmarshal(req.Payload, &payload); err != nil {
			req.Reply(false, nil)
			continue
		}
		req.Reply(true, nil)
		go ssh.DiscardRequests(reqs)
		status := struct{ Code uint32 }{s.exec(ch, payload.Command)}
		ch.SendRequest("exit-status", false, ssh.Marshal(&status))
		return
	}
}

// exec runs `git-upload-pack '/NAME.git'` against the bare repository, wired to the channel,
// and returns the exit code.
func (s *sshServer) exec(ch ssh.Channel, command string) uint32 {
	name, arg, _ := strings.Cut(command, " ")
	if want := "/" + filepath.Base(s.bare); name != "git-upload-pack" || strings.Trim(arg, "'") != want {
		fmt.Fprintf(ch.Stderr(), "gittest: only git-upload-pack '%s' is served, not %q\n", want, command)
		return 1
	}
	cmd := exec.Command("git", "upload-pack", s.bare)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null")
	cmd.Stdout, cmd.Stderr = ch, ch.Stderr()
	stdin, err := cmd.StdinPipe()
	if err == nil {
		err = cmd.Start()
	}
	if err != nil {
		fmt.Fprintf(ch.Stderr(), "gittest: start git upload-pack: %v\n", err)
		return 1
	}
	// Not cmd.Stdin = ch: Wait would then wait for the client to close its side.
	go func() {
		io.Copy(stdin, ch)
		stdin.Close()
	}()
	var exit *exec.ExitError
	if err := cmd.Wait(); errors.As(err, &exit) {
		return uint32(exit.ExitCode())
	} else if err != nil {
		return 1
	}
	return 0
}
