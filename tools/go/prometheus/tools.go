//go:build tools

// Prometheus 3 for the real-pods rig: the server scrapes the pods it finds through the
// Kubernetes API (kubernetes_sd_configs, which Debian's prometheus 2.42+ds leaves out), and
// promtool checks metrics and rules. Both commands are package main inside
// github.com/prometheus/prometheus, so this file only keeps them in the module graph (go mod
// tidy would otherwise drop the require); tool.json names the packages that go-tools.mjs
// builds and the build tags that leave every service discovery but kubernetes (and the
// built-in static, file and http ones) out.
package tools

import (
	_ "github.com/prometheus/prometheus/cmd/prometheus"
	_ "github.com/prometheus/prometheus/cmd/promtool"
)
