// Package fakecli is leakgate's fake storage CLI, as a library; cmd/fakecli
// is its main (os.Exit(fakecli.Main(os.Args))). It serves a folder on disk
// (the "bucket") the way `aws s3`, `gsutil`, `gcloud storage`, `azcopy`,
// `s5cmd` or the CommandAdapter protocol itself would, so the real
// CommandAdapter configs run unchanged, and it
// misbehaves on purpose as a fault plan (package faults) says. Every
// invocation is recorded in a journal (package journal).
//
// # Personas
//
// The base name of argv[0] picks the persona: install the binary once and
// symlink it as aws, azcopy, fakecli, gcloud, gsutil and s5cmd (Personas
// lists them). An unknown
// name exits 2 and lists the personas. Every stderr line starts with the
// persona's name ("aws: …"), including the imitated messages of the real
// CLIs ("aws: fatal error: An error occurred (404) …").
//
// aws (persona_aws.go). Global options are accepted anywhere, also as
// --opt=value: --endpoint-url URL, --region R, --no-sign-request,
// --no-progress (all without effect), --quiet and --only-show-errors (no
// "move:" line). The environment (AWS_MAX_ATTEMPTS=100 in
// helm-s3-public.yaml, AWS_PROFILE, …) is ignored, and not journaled beyond
// what the journal already records. Only the s3 command:
//
//	aws s3 cp s3://B/K -        object to stdout; missing: "fatal error: An error occurred (404) when calling the HeadObject operation: Key "K" does not exist", exit 1
//	aws s3 cp - s3://B/K        stdin to the object (replaced if it exists); prints nothing
//	aws s3 ls s3://B/PREFIX     entries of PREFIX's folder whose names start with PREFIX's last part
//	                            (s3://B/dir/ lists dir): sub-folders first, then objects, as
//	                            "                           PRE sub/" and "2026-11-26 14:47:06       1234 name"
//	                            (local time); nothing found: no output, exit 1
//	aws s3 mv s3://B/K s3://B/K2   prints "move: s3://B/K to s3://B/K2"; missing source: the 404 message, exit 1
//
// gsutil (persona_gsutil.go). Top-level flags -q and -m (also "-qm") before
// the command, without effect:
//
//	gsutil cp gs://B/K -        object to stdout; missing: "CommandException: No URLs matched: gs://B/K", exit 1
//	gsutil cp - gs://B/K        stdin to the object
//	gsutil ls gs://B/DIR/       "gs://B/DIR/name" per entry (sub-folders with a trailing /), sorted;
//	                            an object URL lists itself; nothing: "CommandException: One or more URLs matched no objects.", exit 1
//	gsutil mv gs://B/K gs://B/K2   prints nothing
//
// gcloud (persona_gcloud.go): `gcloud storage`, gsutil's successor (no
// shipped config uses it). Flags anywhere: -q/--quiet, --verbosity V,
// --project P, --billing-project P, --no-user-output-enabled, without
// effect; an unknown one: "ERROR: (gcloud.storage.cp) unrecognized
// arguments: --x", exit 2 (argparse's status, too):
//
//	gcloud storage cp gs://B/K -    object to stdout; missing: "ERROR: (gcloud.storage.cp) The following URLs
//	                                matched no objects or files:" and "-gs://B/K" on the next line, exit 1
//	gcloud storage cp - gs://B/K    stdin to the object
//	gcloud storage ls gs://B/DIR/   as gsutil ls; nothing: "ERROR: (gcloud.storage.ls) One or more URLs matched no objects.", exit 1
//	gcloud storage mv gs://B/K gs://B/K2   prints nothing; missing source: the cp message with gcloud.storage.mv, exit 1
//
// azcopy (persona_azcopy.go). URLs are
// https://ACCOUNT.blob.core.windows.net/CONTAINER/PATH?SAS: the key is
// ACCOUNT/CONTAINER/PATH, the query (the SAS) is dropped, also from every
// message. Flags anywhere (cobra), --flag value or --flag=value: globally
// --log-level L, --cap-mbps N, --skip-version-check; cp: --from-to X,
// --overwrite X, --block-size-mb N, --recursive, --put-md5; sync: --move,
// --recursive. An unknown flag: "Error: unknown flag: --x", exit 2.
//
//	azcopy cp --from-to BlobPipe URL   blob to stdout (stdin unused: the config gives it /dev/null); missing:
//	                                   "failed to perform copy command due to error: fatal: cannot download blob
//	                                   due to error: GET URL" and the SDK's "RESPONSE 404 … ERROR CODE: BlobNotFound" lines, exit 1
//	azcopy cp --from-to PipeBlob URL   stdin to the blob (replaced if it exists); prints nothing
//	azcopy ls URL                      every blob below URL, recursively, in byte order, as
//	                                   "INFO: <path relative to URL>;  Content Length: 1.21 KiB";
//	                                   nothing found: no output, exit 0; a blob URL lists nothing
//	azcopy sync URL URL2 --move=true   moves one blob; prints nothing; missing source:
//	                                   "Cannot perform sync due to error: cannot find source to sync", exit 1.
//	                                   Without --move=true, or on a directory URL: usage error
//
// s5cmd (persona_s5cmd.go). Flags parse as urfave/cli v2 parses them: the
// global ones (--no-sign-request, --endpoint-url URL (must start with
// http), --retry-count/-r N, --numworkers N, --log L, --no-verify-ssl,
// --use-list-objects-v1, --request-payer X, --profile P,
// --credentials-file F) only before the subcommand, the subcommand's own
// (cat, mv: --raw; pipe: --raw, --content-type, --storage-class,
// --concurrency/-c, --part-size/-p) only before its first argument.
// Whatever follows an argument is an argument, "-" included; an unknown
// flag: "Incorrect Usage: flag provided but not defined: -x", exit 2.
// s5cmd's messages name the command as it saw it:
//
//	s5cmd cat s3://B/K           object to stdout; missing: `ERROR "cat s3://B/K": given object s3://B/K not found`, exit 1
//	s5cmd pipe s3://B/K          stdin to the object (replaced); prints nothing. Exactly one argument:
//	                             `pipe - s3://B/K --no-sign-request` (helm-s5cmd-public.yaml's save_metadata_line) is
//	                             `ERROR "pipe - s3://B/K --no-sign-request": expected destination argument`, exit 2
//	s5cmd ls s3://B/PREFIX       as aws s3 ls (PREFIX's folder, names starting with its last part), printed as
//	                             "                                 DIR sub/" and "2026/11/26 14:47:06             1234 name"
//	                             (UTC); nothing: `ERROR "ls s3://B/PREFIX": no object found`, exit 1
//	s5cmd mv s3://B/K s3://B/K2  prints "mv s3://B/K s3://B/K2"; missing source: the cat message with mv, exit 1
//
// fakecli (persona_fakecli.go): the CommandAdapter protocol
// (docs/backup-cli.md#operations)
// with the parameters from the environment, exactly one argument, the
// operation. Handles are paths relative to the bucket root. Names
// (BACKUP_NAME, FILE_NAME) must match ^[a-zA-Z0-9][a-zA-Z0-9._-]{2,126}$; an
// unset or empty parameter or a bad name exits 2 naming it.
//
//	fakecli create_backup         BACKUP_NAME: mkdir ROOT/NAME (exit 1 if it exists), print NAME
//	fakecli create_for_write      BACKUP_HANDLE, FILE_NAME: exit 1 if the object exists, else print
//	                              BACKUP_HANDLE/FILE_NAME, close stdout, store stdin
//	fakecli open_for_read         FILE_HANDLE: the object on stdout; missing: exit 1
//	fakecli save_metadata_line    FILE_NAME: print metadata/FILE_NAME, close stdout, store stdin (replacing)
//	fakecli list_metadata_files   "metadata/<name>" per object in ROOT/metadata, sorted; none: no output, exit 0
//	fakecli backup_metadata_file  FILE_NAME: move metadata/NAME to metadata_backup/NAME; missing: exit 1
//
// testdata/configs/local.yaml runs these as `exec fakecli <operation>`. The
// output of the cloud personas' ls passes the shipped configs' sed lines
// (`s#.* \(.*\)#metadata/\1#p` for aws and s5cmd,
// `s#gs://.*/metadata/#metadata/#p` for gsutil and gcloud,
// `s#; .*##;s#INFO: \(.*\.meta\)#metadata/\1#p` for azcopy).
//
// Personas live in an explicit registry (persona.go), one file each: a new
// persona is a file with a constructor returning a *Persona whose Parse
// turns argv into a Command, plus a line in the map.
//
// # Exit statuses
//
//	0    success
//	1    what the real CLI fails with: missing object, nothing listed (aws, gsutil, gcloud, s5cmd), object exists
//	2    usage or set-up error: bad argv, unknown persona, missing parameter, bad name, bucket unset
//	     or not a folder, handle or URL outside the bucket, bad fault spec or plan (message with
//	     source:line:col), fault that does not fit the object. The real aws CLI uses 252 for usage
//	     errors; leakgate uses 2 everywhere as its usage-error status.
//	N    a fault's exit status (exit code=N, truncate … exit=N)
//	124  a fault's stall or slow pacing reached LEAKGATE_STALL_CAP (a forever
//	     stall always does; a stall for= or a slow rate that would end later
//	     gives up at the cap)
//	128+s  ended by SIGTERM, SIGINT or SIGHUP (s = signal number: 143, 130, 129)
//	SIGPIPE  stdout's reader went away: fakecli dies of SIGPIPE (a shell sees 141), as a real CLI
//
// # Environment
//
// See the Env constants: LEAKGATE_BUCKET (required), LEAKGATE_FAULTS,
// LEAKGATE_FAULT_PLAN, LEAKGATE_JOURNAL, LEAKGATE_STALL_CAP, LEAKGATE_RUN.
// One environment entry holds at most MaxEnvEntry bytes (128 KiB, Linux's
// MAX_ARG_STRLEN): a launcher checks LEAKGATE_FAULTS with CheckEnv, and a
// larger plan goes in a LEAKGATE_FAULT_PLAN file. Error messages escape
// and bound what they quote of argv and names (4 KiB at most).
//
// # The bucket
//
// s3://B/K and gs://B/K are ROOT/B/K,
// https://ACCOUNT.blob.core.windows.net/CONTAINER/PATH?SAS is
// ROOT/ACCOUNT/CONTAINER/PATH; plain handles are ROOT/HANDLE. A URL or
// handle that would resolve outside ROOT (absolute, any ".." component, a
// symlinked object or parent pointing out) is refused, naming it, with exit 2
// (Bucket.Path). Writes are atomic: a temporary file (".fakecli-tmp-…",
// never listed) in the object's folder, parents created, then rename; a
// write that fails or is killed by SIGTERM/SIGINT/SIGHUP stores nothing.
//
// # Faults
//
// Each invocation parses LEAKGATE_FAULTS (source "LEAKGATE_FAULTS") and the
// plan file LEAKGATE_FAULT_PLAN, the spec's rules first; a rule's index in
// this combined plan feeds its probability decision. It takes a call number
// (journal.NextCall when a journal is set, else 0), and asks the plan about
// faults.Call{N, Op, Handle}: Handle is the bucket-relative key
// ("velor-backup/backup1/e1/metadata/x.meta" for s3://velor-backup/backup1/e1/metadata/x.meta),
// the handle itself for the plain protocol, the source for a move and "" for
// a listing. The first matching rule's fault is applied:
//
//   - read: Script(object as stored) is served on stdout: each step's bytes
//     (at Step.Rate bytes per second, in chunks of about 20ms), then its pause
//     (Forever: until killed; every pause and pacing at most until
//     LEAKGATE_STALL_CAP after the start, then exit 124), then
//     the script's exit status. No rule: the object, exit 0, streamed from
//     its file 64 KiB at a time, never held whole (a faulty read holds the
//     object, which Script needs, up to MaxFaultObject, 256 MiB; a larger
//     one does not fit the fault).
//   - write (op=write): exit after=none exits at once without reading stdin
//     and stores nothing; exit after=all stores everything, then exits with the
//     code; exit after=SIZE reads and stores SIZE bytes only. stall reads
//     After bytes of stdin, pauses (the writer blocks once the pipe is full),
//     then reads and stores all. slow reads stdin at its rate. Any other kind
//     (truncate, corrupt) reads all of stdin (at most MaxFaultObject) and
//     stores what Script(stdin) writes, then exits with its status: truncate
//     after=SIZE stores the first SIZE bytes. Every other upload is streamed
//     to its temporary file, never held in memory.
//   - list (op=list): Script(the listing's text) is served; the exit status
//     is the script's if not 0, else the listing's own.
//   - move (op=move), create_backup (op=other): the move or mkdir is done,
//     unless the fault is exit after=none, and Script(the "move:" line or the
//     printed name) is served.
//
// A fault that does not fit the object (Script fails: record=9 of a 3-record
// object, after= past the end of stdin) exits 2 with the reason.
//
// # Journal
//
// With LEAKGATE_JOURNAL set, the start entry (with the matched rule's
// canonical text) is written before any work, and the end entry (bytes:
// stdout bytes, or stdin bytes for writes; exit status; fakecli's own error
// message) on every way out fakecli controls: normal exit, usage errors,
// SIGTERM/SIGINT/SIGHUP (128+signal), broken pipe (141, error "broken
// pipe"). SIGKILL leaves the start entry alone, which is how readers tell a
// killed invocation.
//
// # Standard file descriptors
//
// If fd 0, 1 or 2 is closed at start (a config's `exec 1>&-` leaves the aws
// in `gzip -c | aws s3 cp - URL` without stdout), /dev/null is opened on it
// before any file, so no file can land on fd 1. Closing stdout after the
// plain protocol's handle likewise puts /dev/null on fd 1.
package fakecli
