// kwok-default-stages prints the node and pod stages kwok ships (the ones kwokctl gives a
// cluster by default) as one multi-document YAML stream. The kwok controller alone starts
// with no stages at all; the test rig feeds it this output plus its own volume stages, so
// the stages come from the pinned kwok release instead of a copy kept in this repository.
package main

import (
	"fmt"
	"os"
	"strings"

	nodefast "sigs.k8s.io/kwok/kustomize/stage/node/fast"
	nodeheartbeat "sigs.k8s.io/kwok/kustomize/stage/node/heartbeat"
	podfast "sigs.k8s.io/kwok/kustomize/stage/pod/fast"
)

func main() {
	stages := []string{
		nodefast.DefaultNodeInit,
		nodeheartbeat.DefaultNodeHeartbeat,
		podfast.DefaultPodReady,
		podfast.DefaultPodComplete,
		podfast.DefaultPodDelete,
	}
	for _, stage := range stages {
		if _, err := fmt.Fprintf(os.Stdout, "---\n%s\n", strings.TrimSpace(stage)); err != nil {
			fmt.Fprintf(os.Stderr, "kwok-default-stages: writing stdout: %v\n", err)
			os.Exit(1)
		}
	}
}
