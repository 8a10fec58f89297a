//go:build tools

// kwok for the operator's test rig: a controller that plays the kubelet for fake Nodes, so
// that pods the scheduler binds to them become Running and Ready without containers. Its
// command is package main inside sigs.k8s.io/kwok, so this file only keeps it in the module
// graph; tool.json names the package that go-tools.mjs builds.
package tools

import (
	_ "sigs.k8s.io/kwok/cmd/kwok"
)
