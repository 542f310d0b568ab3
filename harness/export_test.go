package harness

// ForgetForTest empties the registry, so the next snapshot reads every
// process's environ and cmdline again (a cold snapshot).
func ForgetForTest() { registry.reset() }

// RegistrySizeForTest is the number of processes the registry remembers.
func RegistrySizeForTest() int { return registry.size() }

// StateNameForTest is stateName.
func StateNameForTest(letter string) string { return stateName(letter) }

// TreeOnlyForTest reports whether the caller's snapshots read only the
// trees of this process and of the RunReaped wrapper (see localTree).
func TreeOnlyForTest() bool { return reaperPID.Load() != 0 }
