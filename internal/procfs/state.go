package procfs

// stateNames spells out the state letters of /proc/<pid>/stat's field 3.
var stateNames = map[string]string{
	"R": "running", "S": "sleeping", "D": "disk sleep", "Z": "zombie",
	"T": "stopped", "t": "tracing stop", "X": "dead", "x": "dead",
	"I": "idle", "P": "parked", "W": "waking", "K": "wakekill",
}

// StateName spells out a /proc state letter; a letter it does not know
// gives "unknown". It is the one vocabulary of kernel states that the
// harness's leak reports, the gate's report and the HTML report share.
//
//	procfs.StateName("Z") // "zombie"
func StateName(letter string) string {
	if n, ok := stateNames[letter]; ok {
		return n
	}
	return "unknown"
}
