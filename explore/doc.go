// Package explore is `leakgate explore`: it searches the space of fault
// plans for runs that leak, lie or hang, and shrinks what it finds to a
// minimal plan a person can paste.
//
//	s := explore.NewRestore(tools, "bin/restore", "testdata/configs/local.yaml", "killgroup", root)
//	res, err := (&explore.Search{Subject: s, Seed: 1, Budget: 5 * time.Minute, Workers: 2,
//		Dir: "reports/out/explore"}).Run(ctx)
//	for _, f := range res.Findings {
//		fmt.Println(f.Plan, "—", f.Replay) // the minimal plan and how to replay it
//	}
//
// # Generation
//
// A plan is 1 to Space.MaxRules rules of the fault language (package
// faults), drawn from (seed, run index) and the space alone (Generate): every kind, with
// positions (after=, record=), numbers and modes from small sets of values
// that matter for a restore (record 1..4, a few bytes to a few KiB, exit
// codes, HTTP statuses, stall durations, rates); every target: the metadata
// listing (op=list), uploads (op=write), metadata files (*.meta),
// manifests (*.manifest), chunks (*.chunk), one handle of the bucket, or
// every read; sometimes a call range (call=) or a probability (p=, seed=).
// A plan is printed in the language's canonical text and parses back to
// itself. The same seed, run indices and bucket give the same plans.
//
// # Properties
//
// Each run goes under the gate (`leakgate run --json`, driven as a
// subprocess in gate.go: explore depends on the gate's report, not its
// code). A Subject judges it: Restore (a restore into a fresh target DB,
// resumed without faults after a failure; see its doc), Backup (the write
// path: a backup into a fresh bucket, which must restore to the clean DB
// when it exits 0; its plans aim at uploads) or Command (any command: the
// gate's verdict, the timeout, a named file on failure; with Objserver,
// real CLIs against bin/objserver, and network faults only).
//
// Where leaky policies may leak (Restore.mayLeak), in this project's
// terms (see the adapter package's doc for each policy): drop and abandon
// leave behind a child they dropped before its end, which happens only when
// the restore fails; kill leaves the other processes of a pipeline
// (`aws … | gzip -cd`), so only with such a config and only on a failure;
// killgroup leaves nothing, ever. A leak outside those cases is a finding
// (unexpected-leak).
//
// # Shrinking
//
// A failing plan is first confirmed (it must fail Need of Tries runs:
// timing accidents do not count), then shrunk by greedy descent over
// Candidates (fewer rules; narrower targets, such as one of the handles the
// failing run's faults hit; no call range or probability; earlier positions;
// smaller numbers), each confirmed the same way and accepted only if it is
// smaller by size and breaks the same property; then the subject itself
// shrinks (Restore: fewer manifests, lower concurrency). The result is one
// line: the minimal plan and the replay command. The plan file (a corpus
// Entry) and the evidence of its last failing run (gate reports, journals,
// output, the target DB) are written under Search.Dir.
//
// # Corpus
//
// testdata/explore/*.plan are Entries: minimal plans kept with what they
// are expected to do (pass once fixed, or fail with a property as a known
// finding, with the reason). The scenario suite replays them (label
// explore).
//
// # Seeded defects
//
// bin/restore reads LEAKGATE_SEEDED_DEFECT (EnvSeededDefect), a test-only
// switch that plants a known defect so a test can show the search finds and
// shrinks it (see cmd/restore/seeded.go):
//
//	killgroup-forgets-on-two-faults   once two reads have failed, the next reader killgroup
//	                                  closes early is dropped instead (its group not killed)
//	wrong-after-reset-retry           a restore that failed on a read exiting 1 (a CLI that gave
//	                                  up on a reset) makes the next run into the same DB, the
//	                                  retry, lose its last ledger info while exiting 0
package explore

// EnvSeededDefect is the environment variable bin/restore reads for a
// seeded defect (cmd/restore defines what each value does). Unset in
// production; explore passes it on only through Tools.Env.
const EnvSeededDefect = "LEAKGATE_SEEDED_DEFECT"
