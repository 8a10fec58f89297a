//go:build tools

// The node half of Kubernetes for the real-pods rig (issue 14): kubelet and kube-proxy, built
// from the same k8s.io/kubernetes release as tools/go/kube so the node and the control plane
// agree on one version. Their commands are package main inside k8s.io/kubernetes, so this
// file only keeps them in the module graph (go mod tidy would otherwise drop the require);
// tool.json names the packages that go-tools.mjs builds.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
