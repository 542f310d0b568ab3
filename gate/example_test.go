package gate_test

import (
	"context"
	"fmt"
	"time"

	"github.com/leakgate/leakgate/gate"
)

// A command that leaves a background sleep running fails the gate: the
// sleep is filed as a survivor (orphaned to the gate, which is the run's
// subreaper), and the cleanup ends it with SIGTERM.
func ExampleRun() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rep, err := gate.Run(ctx, gate.Config{Args: []string{"sh", "-c", "sleep 30 &"}, Settle: 200 * time.Millisecond})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("pass:", rep.Pass)
	for _, p := range rep.Survivors {
		fmt.Printf("survivor: %s, %s\n", p.Name, p.Ended)
	}
	// Output:
	// pass: false
	// survivor: sleep, ended by SIGTERM in the cleanup
}

// A clean command passes: nothing left, no fd leaked, exit status 0.
func ExampleRun_clean() {
	rep, err := gate.Run(context.Background(), gate.Config{Args: []string{"sh", "-c", "sleep 0.1 & wait"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("pass:", rep.Pass, "leaks:", rep.Leaks(), "exit:", rep.Status.Code)
	// Output: pass: true leaks: 0 exit: 0
}

// The gate starts the command traced and stops it at its exit, where its
// fd table and its children are still intact: Report.Exit says so
// ("traced"), or names the fallback it had to use.
func ExampleRun_exitStop() {
	rep, err := gate.Run(context.Background(), gate.Config{Args: []string{"true"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(rep.Pass, rep.Exit, rep.FDs.Source)
	// Output: true traced exit
}
