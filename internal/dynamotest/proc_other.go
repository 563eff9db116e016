//go:build !unix

package dynamotest

import "os/exec"

// Process groups are a Unix notion; elsewhere stop the server itself, which
// is enough because dynalite starts no children.
func setProcessGroup(*exec.Cmd) {}

func killProcessGroup(cmd *exec.Cmd) { _ = cmd.Process.Kill() }
