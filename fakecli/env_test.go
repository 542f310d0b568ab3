package fakecli_test

import (
	"errors"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/leakgate/leakgate/fakecli"
)

// TestCheckEnvMatchesExec: CheckEnv accepts exactly the entries exec
// accepts, and its refusal names the variable, the limit and the way out.
func TestCheckEnvMatchesExec(t *testing.T) {
	name := fakecli.EnvFaults
	fits := strings.Repeat("x", fakecli.MaxEnvEntry-len(name)-2) // NAME=value + NUL is the limit
	for _, c := range []struct {
		value string
		ok    bool
	}{{fits, true}, {fits + "x", false}} {
		err := fakecli.CheckEnv(name, c.value)
		if (err == nil) != c.ok {
			t.Errorf("CheckEnv(%d-byte value) = %v, want ok %v", len(c.value), err, c.ok)
		}
		cmd := exec.Command("/bin/true")
		cmd.Env = []string{name + "=" + c.value}
		runErr := cmd.Run()
		if c.ok && runErr != nil {
			t.Errorf("exec with a %d-byte value: %v, but CheckEnv accepts it", len(c.value), runErr)
		}
		if !c.ok && !errors.Is(runErr, syscall.E2BIG) {
			t.Errorf("exec with a %d-byte value: %v, want E2BIG (CheckEnv refuses it)", len(c.value), runErr)
		}
	}
	err := fakecli.CheckEnv(name, fits+"x")
	want := "LEAKGATE_FAULTS=… is 131072 bytes, over the 131071 bytes one environment variable may hold (Linux MAX_ARG_STRLEN, name and = included); put the rules in a file and pass that with --fault-plan FILE (LEAKGATE_FAULT_PLAN)"
	if !errors.Is(err, fakecli.ErrEnvTooBig) || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("CheckEnv error:\n%v\nwant:\n%s", err, want)
	}
}
