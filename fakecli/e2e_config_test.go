package fakecli_test

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/leakgate/leakgate/journal"
)

// TestConfigsRoundTrip runs every command of the shipped configs (and of
// testdata/configs/local.yaml) against fakecli, as the restore does: write a
// chunk and two metadata files, list, read them back byte-exact, move one
// metadata file aside.
func TestConfigsRoundTrip(t *testing.T) {
	t.Parallel()
	cloud := []string{"BUCKET=bkt", "SUB_DIR=e1", "R2_ENDPOINT_URL=http://r2.invalid"}
	tests := []struct {
		config  string
		env     []string // process environment (helm configs)
		prefix  string   // bucket folder of the handles
		gzip    bool     // objects are stored gzip'ed
		persona string
	}{
		{filepath.Join(aptosConfigs, "s3.sample.yaml"), nil, "velor-backup/backup1/e1/", true, "aws"},
		{filepath.Join(aptosConfigs, "gcp.sample.yaml"), nil, "velor-backup/backup1/e1/", true, "gsutil"},
		{filepath.Join(aptosConfigs, "helm-s3.yaml"), cloud, "bkt/e1/", true, "aws"},
		{filepath.Join(aptosConfigs, "helm-s3-public.yaml"), cloud, "bkt/e1/", true, "aws"},
		{filepath.Join(aptosConfigs, "helm-r2.yaml"), cloud, "bkt/e1/", true, "aws"},
		{filepath.Join(aptosConfigs, "helm-gcs.yaml"), cloud, "bkt/e1/", true, "gsutil"},
		{localConfig, nil, "", false, "fakecli"},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.config), func(t *testing.T) {
			t.Parallel()
			c := loadConfig(t, tt.config)
			w := newWorld(t, tt.env...)
			chunk := records(3, 3000, 1)
			meta1 := []byte(`{"EpochEndingBackup":{"first_epoch":0,"last_epoch":9,"first_version":0,"last_version":99,"manifest":"b1.1a2b/epoch_ending.manifest"}}` + "\n")
			meta2 := []byte(`{"Identity":{}}` + "\n")
			stored := func(b []byte) []byte {
				if tt.gzip {
					return gunzip(t, b)
				}
				return b
			}

			r := w.command(c, "create_backup", map[string]string{"BACKUP_NAME": "b1.1a2b"}, nil)
			checkCode(t, "create_backup", r, 0)
			if r.stdout != "b1.1a2b\n" {
				t.Errorf("create_backup printed %q", r.stdout)
			}

			r = w.command(c, "create_for_write", map[string]string{"BACKUP_HANDLE": "b1.1a2b", "FILE_NAME": "0-.chunk"}, chunk)
			checkCode(t, "create_for_write", r, 0)
			if r.stdout != "b1.1a2b/0-.chunk\n" {
				t.Errorf("create_for_write printed %q", r.stdout)
			}
			if got := stored(w.get(tt.prefix + "b1.1a2b/0-.chunk")); !bytes.Equal(got, chunk) {
				t.Errorf("stored chunk: %d bytes, want the %d written", len(got), len(chunk))
			}

			for name, data := range map[string][]byte{"epoch_ending_0-9.meta": meta1, "identity.meta": meta2} {
				r = w.command(c, "save_metadata_line", map[string]string{"FILE_NAME": name}, data)
				checkCode(t, "save_metadata_line", r, 0)
				if r.stdout != "metadata/"+name+"\n" {
					t.Errorf("save_metadata_line printed %q", r.stdout)
				}
			}

			r = w.command(c, "list_metadata_files", nil, nil)
			checkCode(t, "list_metadata_files", r, 0)
			if want := "metadata/epoch_ending_0-9.meta\nmetadata/identity.meta\n"; r.stdout != want {
				t.Errorf("list_metadata_files printed %q, want %q", r.stdout, want)
			}

			r = w.command(c, "open_for_read", map[string]string{"FILE_HANDLE": "b1.1a2b/0-.chunk"}, nil)
			checkCode(t, "open_for_read chunk", r, 0)
			if r.stdout != string(chunk) {
				t.Errorf("open_for_read chunk: %d bytes, not the %d written", len(r.stdout), len(chunk))
			}
			r = w.command(c, "open_for_read", map[string]string{"FILE_HANDLE": "metadata/epoch_ending_0-9.meta"}, nil)
			checkCode(t, "open_for_read metadata", r, 0)
			if r.stdout != string(meta1) {
				t.Errorf("open_for_read metadata = %q", r.stdout)
			}

			r = w.command(c, "backup_metadata_file", map[string]string{"FILE_NAME": "epoch_ending_0-9.meta"}, nil)
			checkCode(t, "backup_metadata_file", r, 0)
			if w.get(tt.prefix+"metadata/epoch_ending_0-9.meta") != nil || !bytes.Equal(stored(w.get(tt.prefix+"metadata_backup/epoch_ending_0-9.meta")), meta1) {
				t.Error("backup_metadata_file did not move the file to metadata_backup/")
			}
			r = w.command(c, "list_metadata_files", nil, nil)
			checkCode(t, "list_metadata_files after backup", r, 0)
			if want := "metadata/identity.meta\n"; r.stdout != want {
				t.Errorf("list_metadata_files after backup printed %q, want %q", r.stdout, want)
			}

			// Every invocation of the fake CLI wrote a start and an end line
			// and ended cleanly, without a fault.
			invs := w.invocations()
			if evs := w.events(); len(evs) != 2*len(invs) || strings.Count(strings.Join(evs, " "), "start") != len(invs) {
				t.Errorf("journal events %v for %d invocations", evs, len(invs))
			}
			wantOps := []string{"write", "write", "write", "list", "read", "read", "move", "list"}
			if tt.persona == "fakecli" {
				wantOps = append([]string{"other"}, wantOps...)
			}
			if len(invs) != len(wantOps) {
				t.Fatalf("journal has %d invocations, want %d: %v", len(invs), len(wantOps), invs)
			}
			for i, inv := range invs {
				if !inv.Ended || inv.Exit != 0 || inv.Persona != tt.persona || inv.Op != wantOps[i] || inv.Fault != "" || inv.Call != i+1 {
					t.Errorf("invocation %d (want op %s, call %d): %v", i, wantOps[i], i+1, inv)
				}
			}
			checkBytes(t, invs, "read", tt.prefix+"b1.1a2b/0-.chunk", int64(len(w.get(tt.prefix+"b1.1a2b/0-.chunk"))))
			checkBytes(t, invs, "write", tt.prefix+"b1.1a2b/0-.chunk", int64(len(w.get(tt.prefix+"b1.1a2b/0-.chunk"))))
		})
	}
}

// checkBytes checks the journal's byte count of the invocation with op on
// handle.
func checkBytes(t *testing.T, invs []journal.Invocation, op, handle string, want int64) {
	t.Helper()
	for _, inv := range invs {
		if inv.Op == op && inv.Handle == handle {
			if inv.Bytes != want {
				t.Errorf("%s %s: journal says %d bytes, want %d", op, handle, inv.Bytes, want)
			}
			return
		}
	}
	t.Errorf("no %s of %s in the journal", op, handle)
}
