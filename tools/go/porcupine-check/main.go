// porcupine-check: KVRaft's fault tests hand every recorded history to this program, which
// judges it with porcupine (github.com/anishathalye/porcupine), a linearizability checker
// nobody on the project wrote, against the KV model in model.go.
//
//	porcupine-check --history H.json [--visualize OUT.html] [--timeout-seconds N]
//
// It prints one JSON line: {"verdict":"ok"|"illegal"|"unknown", ...}. "unknown" means the
// time limit ran out before porcupine decided; callers must treat it as a failure.
// Exit status: 0 when a verdict was printed (whatever it is), 2 when the input is unusable.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"time"

	"github.com/anishathalye/porcupine"
)

type verdictLine struct {
	Verdict       string  `json:"verdict"`
	Operations    int     `json:"operations"`
	Indeterminate int     `json:"indeterminate"`
	Keys          int     `json:"keys"`
	ElapsedMs     int64   `json:"elapsedMs"`
	Visualization *string `json:"visualization"`
}

func main() {
	historyPath := flag.String("history", "", "the history file (JSON written by test/faults)")
	visualizePath := flag.String("visualize", "", "where to write porcupine's HTML visualisation when the history is not linearizable")
	timeoutSeconds := flag.Int("timeout-seconds", 120, "porcupine's time limit; past it the verdict is \"unknown\"")
	flag.Parse()
	if *historyPath == "" {
		fail("give --history FILE (a history written by the fault harness)")
	}
	history, err := readHistory(*historyPath)
	if err != nil {
		fail(err.Error())
	}
	operations, indeterminate := toPorcupine(history)
	started := time.Now()
	model := kvModel()
	result, info := porcupine.CheckOperationsVerbose(model, operations, time.Duration(*timeoutSeconds)*time.Second)
	line := verdictLine{
		Verdict:       verdictName(result),
		Operations:    len(operations),
		Indeterminate: indeterminate,
		Keys:          len(partitionByKey(operations)),
		ElapsedMs:     time.Since(started).Milliseconds(),
	}
	if result == porcupine.Illegal && *visualizePath != "" {
		if err := porcupine.VisualizePath(model, info, *visualizePath); err != nil {
			fail(fmt.Sprintf("writing the visualisation to %s failed: %v", *visualizePath, err))
		}
		line.Visualization = visualizePath
	}
	out, _ := json.Marshal(line)
	fmt.Println(string(out))
}

func verdictName(result porcupine.CheckResult) string {
	switch result {
	case porcupine.Ok:
		return "ok"
	case porcupine.Illegal:
		return "illegal"
	default:
		return "unknown"
	}
}

// toPorcupine turns recorded operations into porcupine's; an unknown outcome returns at
// the end of time (it may take effect at any point after its call).
func toPorcupine(history historyFile) ([]porcupine.Operation, int) {
	operations := make([]porcupine.Operation, 0, len(history.Operations))
	indeterminate := 0
	for _, op := range history.Operations {
		ret := int64(math.MaxInt64)
		if op.Return != nil {
			ret = *op.Return
		} else {
			indeterminate++
		}
		operations = append(operations, porcupine.Operation{
			ClientId: op.ClientID,
			Input:    op.Input,
			Output:   op.Output,
			Call:     op.Call,
			Return:   ret,
		})
	}
	return operations, indeterminate
}

func fail(message string) {
	fmt.Fprintln(os.Stderr, "porcupine-check: "+message)
	os.Exit(2)
}
