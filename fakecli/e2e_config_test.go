package fakecli_test

import (
	"bytes"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/leakgate/leakgate/fakecli"
	"github.com/leakgate/leakgate/journal"
)

// TestConfigsRoundTrip runs every command of the shipped configs (and of
// testdata/configs/local.yaml) against fakecli, as the restore does: write a
// chunk and two metadata files, list, read them back byte-exact, move one
// metadata file aside.
func TestConfigsRoundTrip(t *testing.T) {
	t.Parallel()
	cloud := []string{"BUCKET=bkt", "SUB_DIR=e1", "R2_ENDPOINT_URL=http://r2.invalid"}
	tests := []configRoundTrip{
		{config: filepath.Join(aptosConfigs, "s3.sample.yaml"), prefix: "velor-backup/backup1/e1/", persona: "aws"},
		{config: filepath.Join(aptosConfigs, "gcp.sample.yaml"), prefix: "velor-backup/backup1/e1/", persona: "gsutil"},
		{config: filepath.Join(aptosConfigs, "helm-s3.yaml"), env: cloud, prefix: "bkt/e1/", persona: "aws"},
		{config: filepath.Join(aptosConfigs, "helm-s3-public.yaml"), env: cloud, prefix: "bkt/e1/", persona: "aws"},
		{config: filepath.Join(aptosConfigs, "helm-r2.yaml"), env: cloud, prefix: "bkt/e1/", persona: "aws"},
		{config: filepath.Join(aptosConfigs, "helm-gcs.yaml"), env: cloud, prefix: "bkt/e1/", persona: "gsutil"},
		// local.yaml's commands exec fakecli itself: create_backup is an
		// invocation too (op "other"), and objects are stored as written.
		{config: localConfig, prefix: "", persona: "fakecli", raw: true,
			wantOps: append([]string{"other"}, roundTripOps...)},
	}
	for _, rt := range tests {
		t.Run(rt.testName(), func(t *testing.T) {
			t.Parallel()
			runConfigRoundTrip(t, rt)
		})
	}
}

// configRoundTrip is one config's round trip through fakecli.
type configRoundTrip struct {
	name    string   // the subtest's name; "" for the config's file name
	config  string   // path of the CommandAdapter config
	env     []string // process environment (helm configs)
	prefix  string   // bucket folder of the handles
	persona string   // the CLI every invocation must be
	raw     bool     // objects are stored as written, not gzip'ed
	edit    func(c *adapterConfig)
	// saveFails, if not "", is a regexp the stderr of save_metadata_line as
	// shipped must match (it must fail and store nothing); repair then fixes
	// that command, old → new, before the metadata is saved.
	saveFails string
	repair    [2]string
	wantOps   []string // the journal's ops, in order; nil: roundTripOps
	usageCall int      // the invocation (1-based) that ends with fakecli.ExitUsage; 0: none
}

// roundTripOps are the journal's ops of a round trip whose CLI is invoked
// for every command but create_backup (an echo): a chunk and two metadata
// files written, a listing, two reads, a move, a listing.
var roundTripOps = []string{"write", "write", "write", "list", "read", "read", "move", "list"}

func (rt configRoundTrip) testName() string {
	if rt.name != "" {
		return rt.name
	}
	return filepath.Base(rt.config)
}

// runConfigRoundTrip runs rt's config through bash against a fresh bucket:
// create_backup, create_for_write of a chunk, save_metadata_line of two
// metadata files (first as shipped, if rt.saveFails says that fails), a
// listing, reads of the chunk and a metadata file, backup_metadata_file,
// and a listing again; then checks every journal line.
func runConfigRoundTrip(t *testing.T, rt configRoundTrip) {
	t.Helper()
	c := loadConfig(t, rt.config)
	if rt.edit != nil {
		rt.edit(&c)
	}
	w := newWorld(t, rt.env...)
	stored := func(b []byte) []byte {
		if rt.raw {
			return b
		}
		return gunzip(t, b)
	}
	chunk := records(3, 3000, 1)
	meta1 := []byte(`{"EpochEndingBackup":{"first_epoch":0,"last_epoch":9,"first_version":0,"last_version":99,"manifest":"b1.1a2b/epoch_ending.manifest"}}` + "\n")
	meta2 := []byte(`{"Identity":{}}` + "\n")

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
	if got := stored(w.get(rt.prefix + "b1.1a2b/0-.chunk")); !bytes.Equal(got, chunk) {
		t.Errorf("stored chunk: %d bytes, want the %d written", len(got), len(chunk))
	}

	if rt.saveFails != "" {
		checkBrokenSave(t, w, &c, rt, meta1)
	}
	for name, data := range map[string][]byte{"epoch_ending_0-9.meta": meta1, "identity.meta": meta2} {
		r = w.command(c, "save_metadata_line", map[string]string{"FILE_NAME": name}, data)
		checkCode(t, "save_metadata_line "+name, r, 0)
		if r.stdout != "metadata/"+name+"\n" {
			t.Errorf("save_metadata_line printed %q", r.stdout)
		}
		if got := stored(w.get(rt.prefix + "metadata/" + name)); !bytes.Equal(got, data) {
			t.Errorf("stored %s = %q", name, got)
		}
	}

	checkRoundTripReads(t, w, c, rt, stored, chunk, meta1)
	checkRoundTripJournal(t, w, rt)
}

// checkBrokenSave runs save_metadata_line as shipped and checks that it
// fails as rt.saveFails says, having printed its handle and stored
// nothing; then it repairs the command in c.
func checkBrokenSave(t *testing.T, w *world, c *adapterConfig, rt configRoundTrip, meta []byte) {
	t.Helper()
	r := w.command(*c, "save_metadata_line", map[string]string{"FILE_NAME": "epoch_ending_0-9.meta"}, meta)
	if r.code == 0 || !regexp.MustCompile(rt.saveFails).MatchString(r.stderr) {
		t.Fatalf("save_metadata_line as shipped: exit %d, stderr %q; want a failure matching %q", r.code, r.stderr, rt.saveFails)
	}
	if r.stdout != "metadata/epoch_ending_0-9.meta\n" {
		t.Errorf("the failing save_metadata_line still prints its handle first, got %q", r.stdout)
	}
	if w.get(rt.prefix+"metadata/epoch_ending_0-9.meta") != nil {
		t.Error("the failing save_metadata_line stored something")
	}
	old := c.Commands["save_metadata_line"]
	if !strings.Contains(old, rt.repair[0]) {
		t.Fatalf("save_metadata_line no longer contains %q: %s", rt.repair[0], old)
	}
	c.Commands["save_metadata_line"] = strings.ReplaceAll(old, rt.repair[0], rt.repair[1])
}

// checkRoundTripReads lists the metadata, reads the chunk and a metadata
// file back byte-exact, moves that file aside and lists again.
func checkRoundTripReads(t *testing.T, w *world, c adapterConfig, rt configRoundTrip, stored func([]byte) []byte, chunk, meta1 []byte) {
	t.Helper()
	r := w.command(c, "list_metadata_files", nil, nil)
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
	if w.get(rt.prefix+"metadata/epoch_ending_0-9.meta") != nil || !bytes.Equal(stored(w.get(rt.prefix+"metadata_backup/epoch_ending_0-9.meta")), meta1) {
		t.Error("backup_metadata_file did not move the file to metadata_backup/")
	}
	r = w.command(c, "list_metadata_files", nil, nil)
	checkCode(t, "list_metadata_files after backup", r, 0)
	if want := "metadata/identity.meta\n"; r.stdout != want {
		t.Errorf("list_metadata_files after backup printed %q, want %q", r.stdout, want)
	}
}

// checkRoundTripJournal checks that every invocation of the fake CLI wrote
// a start and an end line and ended as rt expects: its persona, the op in
// order, the call number, no fault, exit 0 but for rt.usageCall; and that
// the journal counts the chunk's bytes as stored.
func checkRoundTripJournal(t *testing.T, w *world, rt configRoundTrip) {
	t.Helper()
	invs := w.invocations()
	if evs := w.events(); len(evs) != 2*len(invs) || strings.Count(strings.Join(evs, " "), "start") != len(invs) {
		t.Errorf("journal events %v for %d invocations", evs, len(invs))
	}
	wantOps := rt.wantOps
	if wantOps == nil {
		wantOps = roundTripOps
	}
	if len(invs) != len(wantOps) {
		t.Fatalf("journal has %d invocations, want %d: %v", len(invs), len(wantOps), invs)
	}
	for i, inv := range invs {
		wantExit := 0
		if i+1 == rt.usageCall {
			wantExit = fakecli.ExitUsage
		}
		if !inv.Ended || inv.Exit != wantExit || inv.Persona != rt.persona || inv.Op != wantOps[i] || inv.Fault != "" || inv.Call != i+1 {
			t.Errorf("invocation %d (want op %s, exit %d, call %d): %v", i, wantOps[i], wantExit, i+1, inv)
		}
	}
	size := int64(len(w.get(rt.prefix + "b1.1a2b/0-.chunk")))
	checkBytes(t, invs, "read", rt.prefix+"b1.1a2b/0-.chunk", size)
	checkBytes(t, invs, "write", rt.prefix+"b1.1a2b/0-.chunk", size)
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
