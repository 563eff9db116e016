//go:build unix && !linux

package dynamotest

import (
	"os/exec"
	"syscall"
)

// setProcessGroup gives the server a process group of its own, so that
// stopping it stops anything it started too (an npm shim, say, rather than
// node itself). Unlike on Linux there is no parent-death signal, so a test
// binary killed before its cleanup leaves the server running.
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

func killProcessGroup(cmd *exec.Cmd) {
	// The group id is the leader's pid; a negative pid signals the group.
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
}
