package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runCLI(args ...string) (stdout, stderr string, err error) {
	var o, e bytes.Buffer
	err = run(context.Background(), args, &o, &e)
	return o.String(), e.String(), err
}

func TestHelpListsEveryCommand(t *testing.T) {
	out, _, err := runCLI("--help")
	if err != nil {
		t.Fatal(err)
	}
	for name := range commands() {
		if !strings.Contains(out, "gitfleet "+name) && !strings.Contains(out, name+"|") && !strings.Contains(out, "|"+name) {
			t.Errorf("--help does not mention %q:\n%s", name, out)
		}
	}
}

func TestUnknownCommand(t *testing.T) {
	if _, _, err := runCLI("frobnicate"); err == nil || !strings.Contains(err.Error(), "frobnicate") {
		t.Fatalf("err = %v, want unknown command", err)
	}
}

func TestValidateExamples(t *testing.T) {
	out, stderr, err := runCLI("validate", "../../examples/manifests")
	if err != nil {
		t.Fatalf("validate examples: %v\n%s", err, stderr)
	}
	if strings.TrimSpace(out) != "2 objects valid" {
		t.Fatalf("stdout = %q", out)
	}
}

func TestValidateReportsFileAndLine(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	const deployment = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: %s\nspec:\n  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n        - name: c\n          image: busybox\n%s"
	write("apps/web.yaml", fmt.Sprintf(deployment, "web", "          stdin: true\n"))
	write("apps/api.yml", fmt.Sprintf(deployment, "API", ""))
	_, stderr, err := runCLI("validate", dir)
	var code exitCode
	if !errors.As(err, &code) || code != 1 {
		t.Fatalf("err = %v, want exit 1", err)
	}
	for _, want := range []string{
		"apps/api.yml:4: metadata.name:",
		"apps/web.yaml:15: spec.template.spec.containers[0].stdin: unknown field",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
}

// validate FILE checks that file alone; references it does not declare are warnings.
// validate SYMLINK follows the link to a directory.
func TestValidateFileAndSymlink(t *testing.T) {
	dir := t.TempDir()
	pod := "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: prod}\nspec:\n  containers: [{name: c, image: busybox}]\n"
	file := filepath.Join(dir, "m", "pod.yaml")
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte(pod), 0o644); err != nil {
		t.Fatal(err)
	}
	out, stderr, err := runCLI("validate", file)
	if err != nil || strings.TrimSpace(out) != "1 objects valid" || !strings.Contains(stderr, "warning: "+filepath.ToSlash(file)+":3: metadata.namespace: namespace \"prod\" not found") {
		t.Fatalf("validate FILE: %v\nstdout %q\nstderr %q", err, out, stderr)
	}
	if err := os.WriteFile(file, []byte(pod+"---\n"+pod), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, stderr, err := runCLI("validate", file); err == nil || !strings.Contains(stderr, "duplicate Pod prod/p") {
		t.Fatalf("duplicate in FILE: %v\n%s", err, stderr)
	}
	link := filepath.Join(dir, "link")
	abs, err := filepath.Abs("../../examples/manifests")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(abs, link); err != nil {
		t.Fatal(err)
	}
	if out, stderr, err := runCLI("validate", link); err != nil || strings.TrimSpace(out) != "2 objects valid" {
		t.Fatalf("validate SYMLINK: %v\nstdout %q\nstderr %q", err, out, stderr)
	}
}

func TestReorderFlags(t *testing.T) {
	got := strings.Join(reorderFlags([]string{"pods", "-o", "json", "--data-dir=/x"}), " ")
	if got != "-o json --data-dir=/x pods" {
		t.Fatalf("reorderFlags = %q", got)
	}
}

func TestAgentDataDirLock(t *testing.T) {
	dir := t.TempDir()
	unlock, err := lockDataDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lockDataDir(dir); err == nil || !strings.Contains(err.Error(), "another agent") {
		t.Fatalf("second lock: %v, want refusal", err)
	}
	unlock()
	again, err := lockDataDir(dir)
	if err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	again()
}

// validate checks an explicit clusterIP against the service CIDR, the default or --service-cidr's.
func TestValidateServiceCIDR(t *testing.T) {
	dir := t.TempDir()
	svc := "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  clusterIP: 10.0.0.5\n  selector: {app: web}\n  ports: [{port: 80}]\n"
	if err := os.WriteFile(filepath.Join(dir, "svc.yaml"), []byte(svc), 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, err := runCLI("validate", dir)
	var code exitCode
	if !errors.As(err, &code) || code != 1 ||
		!strings.Contains(stderr, "svc.yaml:6: spec.clusterIP: clusterIP 10.0.0.5 is outside the service CIDR 10.96.0.0/16") {
		t.Fatalf("default CIDR: err = %v, stderr:\n%s", err, stderr)
	}
	if out, stderr, err := runCLI("validate", "--service-cidr", "10.0.0.0/24", dir); err != nil || strings.TrimSpace(out) != "1 objects valid" {
		t.Fatalf("--service-cidr 10.0.0.0/24: %v\nstdout %q\nstderr %q", err, out, stderr)
	}
	if _, _, err := runCLI("validate", "--service-cidr", "nonsense", dir); err == nil || !strings.Contains(err.Error(), `--service-cidr "nonsense"`) {
		t.Fatalf("bad --service-cidr: err = %v", err)
	}
}
