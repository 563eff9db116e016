package dynamotest

import (
	"os/exec"
	"syscall"
)

// setProcessGroup gives the server a process group of its own, so that
// stopping it stops anything it started too (an npm shim, say, rather than
// node itself). A group of its own no longer receives the terminal's Ctrl-C,
// and a test binary killed that way runs no cleanup; the parent-death signal
// makes the kernel stop the server in that case instead.
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

func killProcessGroup(cmd *exec.Cmd) {
	// The group id is the leader's pid; a negative pid signals the group.
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
}
