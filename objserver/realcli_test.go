package objserver

import (
	"bytes"
	"context"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The S3 subset and the plain API as the real CLIs speak them: Debian's
// aws (by absolute path: another aws may come first on PATH) and the
// system curl and python3. Missing tools skip these tests, naming them,
// unless LEAKGATE_REAL_CLI=require (as in CI), which fails them.

const (
	debianAWS  = "/usr/bin/aws"
	systemCurl = "/usr/bin/curl"
	python3    = "/usr/bin/python3"
)

func requireTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, p := range tools {
		if _, err := os.Stat(p); err != nil {
			if os.Getenv("LEAKGATE_REAL_CLI") == "require" {
				t.Fatalf("%s is required (LEAKGATE_REAL_CLI=require): %v", p, err)
			}
			t.Skipf("%s is not installed (Debian: apt-get install -y awscli curl python3): %v", p, err)
		}
	}
}

// cliEnv is a clean environment for the real CLIs: no AWS_, PYTHON or
// proxy variables of the host's, dummy credentials, no profile files, an
// empty HOME, and the retry settings pinned to aws v2's defaults.
func cliEnv(t *testing.T) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "AWS_") || strings.HasPrefix(k, "PYTHON") || strings.HasPrefix(k, "LEAKGATE_") ||
			strings.HasSuffix(strings.ToLower(k), "_proxy") || k == "HOME" {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "HOME="+t.TempDir(),
		"AWS_ACCESS_KEY_ID=leakgate", "AWS_SECRET_ACCESS_KEY=leakgate", "AWS_DEFAULT_REGION=us-east-1",
		"AWS_EC2_METADATA_DISABLED=true", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null",
		"AWS_RETRY_MODE=standard", "AWS_MAX_ATTEMPTS=3", "AWS_PAGER=")
}

// sh runs script with bash and stdin, returning stdout; the process is
// reaped before sh returns (CombinedOutput waits), with a deadline.
func sh(t *testing.T, env []string, stdin []byte, script string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", "set -o nounset -o errexit -o pipefail; "+script)
	cmd.Env = env
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		tail := stderr.String()
		if len(tail) > 2000 {
			tail = "…" + tail[len(tail)-2000:]
		}
		t.Fatalf("%s: %v\nstderr: %s", script, err, tail)
	}
	return out
}

func TestRealAWS(t *testing.T) {
	requireTools(t, debianAWS)
	ts := serve(t, "")
	env := append(cliEnv(t), "EP="+ts.url)
	// 9 MiB: aws streams stdin of 8 MiB or more as a multipart upload.
	data := make([]byte, 9<<20)
	rand.New(rand.NewSource(2)).Read(data)

	sh(t, env, data, debianAWS+` s3 cp --endpoint-url "$EP" - s3://b/e1/big`)
	if got, _ := os.ReadFile(filepath.Join(ts.root, "b", "e1", "big")); !bytes.Equal(got, data) {
		t.Fatalf("streamed upload stored %d bytes, want the %d sent", len(got), len(data))
	}
	if out := sh(t, env, nil, debianAWS+` s3 ls --endpoint-url "$EP" s3://b/e1/`); !strings.HasSuffix(strings.TrimSpace(string(out)), " 9437184 big") {
		t.Errorf("aws s3 ls printed %q, want a line ending in the size and name", out)
	}
	if out := sh(t, env, nil, debianAWS+` s3 cp --endpoint-url "$EP" s3://b/e1/big -`); !bytes.Equal(out, data) {
		t.Errorf("aws s3 cp to stdout gave %d bytes, want the object's %d", len(out), len(data))
	}
	sh(t, env, nil, debianAWS+` s3 mv --endpoint-url "$EP" s3://b/e1/big s3://b/e2/big --no-progress`)
	if _, err := os.Stat(filepath.Join(ts.root, "b", "e1", "big")); !os.IsNotExist(err) {
		t.Errorf("after mv the source is still there: %v", err)
	}
	if got, _ := os.ReadFile(filepath.Join(ts.root, "b", "e2", "big")); !bytes.Equal(got, data) {
		t.Errorf("after mv the target holds %d bytes, want %d", len(got), len(data))
	}

	var methods []string
	for _, inv := range ts.requests(t, 1) {
		if inv.Persona != "aws" || inv.PID == 0 || inv.Exit >= 300 {
			t.Errorf("request not from a healthy aws: %s", inv)
		}
		m := inv.Argv[0]
		switch q := inv.Argv[1]; {
		case strings.Contains(q, "?uploads"):
			m += " create-upload"
		case strings.Contains(q, "partNumber="):
			m += " part"
		case strings.Contains(q, "uploadId="):
			m += " complete"
		case strings.Contains(q, "list-type=2"):
			m += " list"
		}
		methods = append(methods, m)
	}
	got := strings.Join(methods, ", ")
	for _, want := range []string{
		"POST create-upload, PUT part, PUT part, POST complete", // the streamed upload
		"GET list",  // ls
		"HEAD, GET", // cp to stdout
		"HEAD, GET, POST create-upload, PUT part, PUT part, POST complete, DELETE", // mv: tagging, part copies, delete
	} {
		if !strings.Contains(got, want) {
			t.Errorf("aws's requests %q lack %q", got, want)
		}
	}
}

func TestRealCurl(t *testing.T) {
	requireTools(t, systemCurl, python3)
	ts := serve(t, "")
	env := append(cliEnv(t), "ENDPOINT="+ts.url, "ACCESS_URI="+AccessURI("oci"), "SUB_DIR=e1")
	// helm-oci.yaml's commands, with python3 for python.
	sh(t, env, []byte("meta line\n"), `gzip -c | `+systemCurl+` -s -X PUT --data-binary "@-" "$ENDPOINT$ACCESS_URI/$SUB_DIR/metadata/x.meta"`)
	sh(t, env, []byte("chunk"), `gzip -c | `+systemCurl+` -s -X PUT --data-binary "@-" "$ENDPOINT$ACCESS_URI/$SUB_DIR/b.1a2b/0-.chunk"`)
	list := sh(t, env, nil, systemCurl+` -s "$ENDPOINT$ACCESS_URI?prefix=/$SUB_DIR/metadata/" | `+python3+
		` -c 'import json, sys; print("\n".join("/".join(o["name"].split("/")[2:]) for o in json.loads(sys.stdin.read()).get("objects", [])), end="")'`)
	if string(list) != "metadata/x.meta" {
		t.Errorf("list_metadata_files printed %q, want %q", list, "metadata/x.meta")
	}
	if out := sh(t, env, nil, systemCurl+` -s "$ENDPOINT$ACCESS_URI/$SUB_DIR/b.1a2b/0-.chunk" | gzip -cd`); string(out) != "chunk" {
		t.Errorf("open_for_read printed %q", out)
	}
	invs := ts.requests(t, 4)
	for _, inv := range invs {
		if inv.Persona != "curl" || inv.Exit != 200 {
			t.Errorf("request not a healthy curl one: %s", inv)
		}
	}
	if invs[0].Handle != "oci/e1/metadata/x.meta" || invs[0].Op != "write" || invs[2].Op != "list" {
		t.Errorf("journal: %v", invs)
	}
}
