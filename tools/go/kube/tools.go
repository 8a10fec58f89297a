//go:build tools

// Kubernetes' control plane and kubectl for KVRaft's operator tests, built from the
// k8s.io/kubernetes module. Its commands are package main inside k8s.io/kubernetes, so this
// file only keeps them in the module graph (go mod tidy would otherwise drop the require);
// tool.json names the packages that go-tools.mjs builds.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
