// Package gate is `leakgate run`: it runs any command under a leak gate and
// judges what the command leaves behind, from outside, for a program in any
// language:
//
//	rep, err := gate.Run(ctx, gate.Config{
//		Args:       []string{"bin/restore", "bootstrap-db", "--command-adapter-config", "s3.yaml"},
//		PersonaDir: "personas", Bucket: "bucket", Faults: `corrupt record=3 on="*1-.chunk"`,
//	})
//	if err != nil { … }      // usage (ErrConfig), not startable (ErrStart), /proc unreadable
//	fmt.Print(rep)           // the human report; json.Marshal(rep) for machines
//	if !rep.Pass { … }       // a leak, a timeout, or (RequireSuccess) a failed command
//
// # The command's world
//
// The command runs in its own process group, started traced (see "Exact
// exit" below). Its environment is left alone but for what is asked: fakecli's
// personas go first on PATH only with Config.PersonaDir (fakeenv.LinkPersonas
// makes one; `leakgate run` does so only for --fakecli, --personas, --faults,
// --fault-plan or --bucket, and Report.Personas lists them), LEAKGATE_BUCKET,
// LEAKGATE_FAULTS, LEAKGATE_FAULT_PLAN and LEAKGATE_JOURNAL (see fakecli)
// when given, LEAKGATE_SELF_REPORT (EnvSelfReport) and a run marker
// LEAKGATE_RUN on its whole tree. If the gate's own environment carries a
// LEAKGATE_RUN (an outer run, e.g. a test that runs leakgate), the
// command's marker is nested under it ("<outer>/gate.<pid>.<n>."), so the
// outer run still sees and sweeps every process of the command.
// LEAKGATE_REAPED is removed.
//
// # What counts as a leak
//
// The gate is a child subreaper (PR_SET_CHILD_SUBREAPER) while it runs:
// every process of the command's tree that loses its parent is reparented to
// the gate, where the gate can see it and reap it. Its contract: nothing the
// command starts may run outside the command's tree, or outlive the command.
//
//   - Survivors: processes of the command's tree still present, alive or
//     zombie, when the settle window (Config.Settle, default 2s) after the
//     command's exit ends. The gate reaps nothing during the window. Once
//     the command has exited it can reap nothing more, and its orphans come
//     to the gate: a zombie it left is a leak even though, outside the
//     gate, its exit would have handed the zombie to init to reap, and a
//     child still running at its exit is a leak whether or not it exits in
//     the window (it then waits there as the gate's zombie). What the window
//     forgives is a process reaped by a parent of its own that is still
//     being torn down. A zombie the command reaps itself before it exits is
//     not a leak, however long it lived: it shows only in the timeline's
//     peak.
//   - Escaped: processes that were alive outside the command's tree while
//     the command ran: orphaned to the gate alive (a daemonising double
//     fork; the aws and gzip of a bash that was killed alone), whether they
//     are still there at the end or died meanwhile, and processes carrying
//     the run's marker anywhere else on the machine when the window ends.
//     The gate looks at its own children every Config.Every and on every
//     SIGCHLD, and discards a look taken once the command began to exit
//     (PF_EXITING is set before exit reparents the children): a process
//     orphaned by the command's own exit is a survivor, not escaped.
//   - Not a leak: an orphan that comes to the gate already dead (a zombie,
//     exiting, or with a SIGKILL pending) while the command runs. That is a
//     process group the command killed as a whole: the grandchildren die
//     with their parent and are reparented as they die. The command cannot
//     reap them (they are not its children) and outside the gate init
//     would; the gate reaps them at once, as init does, so that a command
//     waiting for its killed group to be gone (the killgroup policy) is not
//     held up. They are counted in Report.OrphansReaped. Limits: an orphan
//     alive for less than one look (a pipeline member that dies of SIGPIPE
//     right after its bash was killed) is taken for one that died with its
//     parent; one that arrives dead just before the command exits, before
//     the gate's next look, is judged with the command's leftovers; there,
//     an orphan a look found dying (exiting, or SIGKILL pending) is a dead
//     orphan all the same. A process of the command's process group that
//     died of a signal the command itself died of (timeout -s KILL killing
//     its group, itself included) or received from kill(2) while it ran
//     (timeout's kill(0, SIGTERM) after it killed its child alone, which
//     orphans the pipeline alive for a moment) died with its group: not a
//     leak, whether it was seen alive as an orphan or not. A process the
//     command killed alone is still escaped. At the exit
//     stop the gate takes a last look at its children, so a process
//     orphaned alive just before the command exits is filed as escaped;
//     without the exit stop it is filed as a survivor: a leak either way.
//   - FDs: an fd leaked inside a process closes when it exits. When the
//     command was stopped at its exit (Report.Exit is "traced"), the gate
//     reads its fd table there, intact, and judges it (FDVerdict.Source
//     "exit"): an fd closed before exit, however shortly before, is never
//     counted, so one program gets one verdict. Otherwise (the fallback,
//     Source "samples") it judges the fds as it last saw them. Every Config.Every
//     (default 25ms) it reads the command's fd table; the fds open at the
//     last sample taken before the command began to exit, and not open (by
//     number and target) at the first sample (right after exec), are leaks
//     if that sample caught the command at rest: no live child, and the
//     same set of such fds at every sample for at least Config.FDQuiet
//     (default 500ms). A command still busy at its last sample (children
//     running, fds coming and going: a restore aborting in mid-download) has
//     its new fds reported, not judged, because an fd open 1ms before exit
//     may be one the program was about to close; what such a program leaks
//     in children is judged anyway. Go runtime fds (netpoller, cgroup CPU
//     files) and Config.IgnoreFDs are never counted. Limits: an fd opened
//     and leaked less than FDQuiet before exit is not seen; an fd a
//     program holds on purpose until exit (a log file) while idling is
//     reported as a leak: ignore it with IgnoreFDs.
//   - Self-reported: leaks only the program can see. A goroutine is
//     invisible from outside a process; a program that checks itself (gleak,
//     goleak) reports what it found with selfreport.Report (package
//     gate/selfreport, no dependencies), one JSON line per leak
//     in the file named by LEAKGATE_SELF_REPORT, and the gate counts every
//     line. The gate cannot check such a report: a program that does not
//     check itself, or exits before it does, reports nothing.
//
// While the command runs, harness.Sample records its descendants, zombies,
// escaped processes and new fds (Report.Timeline: peaks and steps).
//
// The command's exit status is reported, and fails the gate only with
// Config.RequireSuccess. A command still running at Config.Timeout is
// killed (SIGKILL to it alone; its tree then counts as survivors) and fails
// the gate. A first SIGINT, SIGTERM or SIGHUP sent to the gate is forwarded
// to the command's process group; a second SIGINT or SIGTERM kills the
// command's tree at once (no settle window, no grace). If the gate itself
// dies, however it dies, the kernel kills the traced command
// (PTRACE_O_EXITKILL and the parent-death signal), and the guard process
// (Config.Guard; the leakgate binary starts `leakgate guard`) kills whatever
// still carries the run's marker and removes the run's folders
// (Config.GuardFolders); a later run removes stale folders whose owner is
// provably dead.
//
// After judging, the gate ends what the run left, politely first: SIGTERM
// to every live process of the run, up to 2s of grace for it to exit (a
// daemon removing its socket), then SIGKILL to every process carrying the
// run's marker (harness.Sweep) and to every remaining new descendant of its
// own (a command may drop the marker with env -i). It reaps them and
// reports which pids ended after SIGTERM and which needed SIGKILL
// (Report.Cleanup); a survivor of the cleanup fails the gate.
//
// # Exact exit
//
// The command is started with PTRACE_TRACEME before its exec, and the gate
// sets PTRACE_O_TRACEEXIT: at the command's exit stop its fd table and the
// gate's children are read while both are intact, then the command is let
// go. The command lines of the command's tree are remembered there too: a
// survivor that dies in the settle window is a zombie when it is judged,
// whose /proc cmdline is empty. One goroutine, locked to its OS thread,
// makes every ptrace call and every wait, and passes on the signals the
// command receives, noting those sent by kill(2) (see "Not a leak"). A
// command under the gate cannot itself be stopped (SIGSTOP) or run under a
// debugger. Report.Exit says whether the exit stop was seen.
//
// # Limits
//
// Linux only (/proc, prctl, pidfds). The gate judges the calling process's
// new descendants: run one gate at a time in a process that starts nothing
// else (the leakgate binary). Sampling costs a /proc scan every Config.Every
// for the timeline; the watcher behind the verdict reads only the command's
// and the gate's own /proc entries.
package gate
