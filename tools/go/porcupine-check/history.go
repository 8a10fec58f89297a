package main

import (
	"encoding/json"
	"fmt"
	"os"
)

// The history file, as test/faults/history-file.ts writes it. Times are integers (µs on
// the harness's monotonic clock); return is null when the outcome is unknown.
type historyFile struct {
	Operations []recordedOp `json:"operations"`
}

type recordedOp struct {
	ClientID int       `json:"clientId"`
	Input    kvInput   `json:"input"`
	Output   *kvOutput `json:"output"`
	Call     int64     `json:"call"`
	Return   *int64    `json:"return"`
}

type kvInput struct {
	Op            string `json:"op"` // get, put, cas, delete
	Key           string `json:"key"`
	Value         string `json:"value,omitempty"`
	ExpectVersion int64  `json:"expectVersion,omitempty"` // cas: 0 means "must be absent"
}

// kvOutput: which fields matter depends on the op (see model.go).
type kvOutput struct {
	Found   bool   `json:"found,omitempty"`   // get
	Value   string `json:"value,omitempty"`   // get
	Version int64  `json:"version,omitempty"` // get (found), put, cas (ok)
	Ok      bool   `json:"ok,omitempty"`      // cas
	Deleted bool   `json:"deleted,omitempty"` // delete
}

func readHistory(path string) (historyFile, error) {
	var history historyFile
	data, err := os.ReadFile(path)
	if err != nil {
		return history, fmt.Errorf("cannot read the history %s: %w", path, err)
	}
	if err := json.Unmarshal(data, &history); err != nil {
		return history, fmt.Errorf("the history %s is not valid JSON of the expected shape: %w", path, err)
	}
	for i, op := range history.Operations {
		switch op.Input.Op {
		case "get", "put", "cas", "delete":
		default:
			return history, fmt.Errorf("the history %s: operation %d has unknown op %q", path, i, op.Input.Op)
		}
		if op.Output == nil && op.Return != nil {
			return history, fmt.Errorf("the history %s: operation %d has a return time but no output", path, i)
		}
		if op.Output != nil && op.Return == nil {
			return history, fmt.Errorf("the history %s: operation %d has an output but no return time", path, i)
		}
		if op.Output == nil && op.Input.Op == "get" {
			return history, fmt.Errorf("the history %s: operation %d is a get with an unknown outcome (leave those out: they change nothing)", path, i)
		}
	}
	return history, nil
}
