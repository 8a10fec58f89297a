package main

import (
	"fmt"
	"hash/fnv"
	"sort"

	"github.com/anishathalye/porcupine"
)

// keyState is the state of one key; histories are partitioned per key.
//
// Versions are Raft log indexes, so each key's successive versions increase. An operation
// whose outcome is unknown (a timeout) may have created a version nobody saw: version is
// then unknownVersion, and all that is known is that it exceeds `seen`, the largest
// version revealed so far on this path. A later get or cas may reveal it.
type keyState struct {
	Present bool
	Value   string
	Version int64
	Seen    int64
}

const unknownVersion = -1

func kvModel() porcupine.Model {
	nondeterministic := porcupine.NondeterministicModel{
		Partition: partitionByKey,
		Init:      func() []interface{} { return []interface{}{keyState{}} },
		Step: func(state, input, output interface{}) []interface{} {
			in := input.(kvInput)
			out := output.(*kvOutput)
			next := step(state.(keyState), in, out)
			result := make([]interface{}, len(next))
			for i, s := range next {
				result[i] = s
			}
			return result
		},
		Equal:             func(a, b interface{}) bool { return a.(keyState) == b.(keyState) },
		Hash:              hashState,
		DescribeOperation: describeOperation,
		DescribeState:     describeState,
	}
	return nondeterministic.ToModel()
}

// step lists every state the key can be in after the operation; none when the operation
// cannot have produced its output from `s`.
//
// An unknown outcome (out == nil) may have taken effect or not, but step lists only its
// effect (or `s` when it can have none here). "Not taken effect" needs no state of its
// own: such an operation returns at the end of time, so porcupine may always linearize
// it after every operation with a known outcome, where its effect is seen by nobody. The
// two are the same verdict; listing both made porcupine's search far slower (an illegal
// history with 32 unknowns ran past 90 s instead of deciding in seconds).
func step(s keyState, in kvInput, out *kvOutput) []keyState {
	switch in.Op {
	case "get":
		return stepGet(s, out)
	case "put":
		if out == nil {
			return []keyState{{Present: true, Value: in.Value, Version: unknownVersion, Seen: s.Seen}}
		}
		return newVersion(s.Seen, in.Value, out.Version)
	case "cas":
		return stepCas(s, in, out)
	case "delete":
		return stepDelete(s, out)
	}
	return nil
}

func stepGet(s keyState, out *kvOutput) []keyState {
	if out == nil {
		return []keyState{s} // the harness leaves these out; a read changes nothing anyway
	}
	if !out.Found {
		if s.Present {
			return nil
		}
		return []keyState{s}
	}
	if !s.Present || s.Value != out.Value {
		return nil
	}
	if s.Version == unknownVersion {
		if out.Version <= s.Seen {
			return nil
		}
		return []keyState{{Present: true, Value: s.Value, Version: out.Version, Seen: out.Version}}
	}
	if s.Version != out.Version {
		return nil
	}
	return []keyState{s}
}

// newVersion is a write that created version `version`, which must exceed every version seen.
func newVersion(seen int64, value string, version int64) []keyState {
	if version <= seen {
		return nil
	}
	return []keyState{{Present: true, Value: value, Version: version, Seen: version}}
}

func stepCas(s keyState, in kvInput, out *kvOutput) []keyState {
	var mayHold, mayFail bool
	switch {
	case in.ExpectVersion == 0:
		mayHold, mayFail = !s.Present, s.Present
	case !s.Present:
		mayHold, mayFail = false, true
	case s.Version == unknownVersion:
		// An unseen version may equal any expectation above what was seen, or differ.
		mayHold, mayFail = in.ExpectVersion > s.Seen, true
	default:
		mayHold, mayFail = s.Version == in.ExpectVersion, s.Version != in.ExpectVersion
	}
	var next []keyState
	if mayFail && (out != nil && !out.Ok || out == nil && !mayHold) {
		next = append(next, s)
	}
	if mayHold && (out == nil || out.Ok) {
		seen := s.Seen
		if in.ExpectVersion > seen {
			seen = in.ExpectVersion // the swap revealed the version it replaced
		}
		if out == nil {
			next = append(next, keyState{Present: true, Value: in.Value, Version: unknownVersion, Seen: seen})
		} else {
			next = append(next, newVersion(seen, in.Value, out.Version)...)
		}
	}
	return next
}

func stepDelete(s keyState, out *kvOutput) []keyState {
	removed := keyState{Seen: s.Seen}
	switch {
	case out == nil && s.Present:
		return []keyState{removed}
	case out == nil:
		return []keyState{s}
	case out.Deleted && s.Present:
		return []keyState{removed}
	case !out.Deleted && !s.Present:
		return []keyState{s}
	}
	return nil
}

func partitionByKey(history []porcupine.Operation) [][]porcupine.Operation {
	byKey := map[string][]porcupine.Operation{}
	for _, op := range history {
		key := op.Input.(kvInput).Key
		byKey[key] = append(byKey[key], op)
	}
	keys := make([]string, 0, len(byKey))
	for key := range byKey {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	partitions := make([][]porcupine.Operation, 0, len(keys))
	for _, key := range keys {
		partitions = append(partitions, byKey[key])
	}
	return partitions
}

func describeOperation(input, output interface{}) string {
	in := input.(kvInput)
	out := output.(*kvOutput)
	var call string
	switch in.Op {
	case "get":
		call = fmt.Sprintf("get(%s)", in.Key)
	case "put":
		call = fmt.Sprintf("put(%s, %q)", in.Key, in.Value)
	case "cas":
		call = fmt.Sprintf("cas(%s, v%d, %q)", in.Key, in.ExpectVersion, in.Value)
	case "delete":
		call = fmt.Sprintf("delete(%s)", in.Key)
	}
	if out == nil {
		return call + " -> unknown (timed out)"
	}
	switch in.Op {
	case "get":
		if !out.Found {
			return call + " -> absent"
		}
		return fmt.Sprintf("%s -> %q v%d", call, out.Value, out.Version)
	case "put":
		return fmt.Sprintf("%s -> v%d", call, out.Version)
	case "cas":
		if !out.Ok {
			return call + " -> mismatch"
		}
		return fmt.Sprintf("%s -> v%d", call, out.Version)
	default:
		return fmt.Sprintf("%s -> deleted=%t", call, out.Deleted)
	}
}

func describeState(state interface{}) string {
	s := state.(keyState)
	switch {
	case !s.Present:
		return fmt.Sprintf("absent (seen v%d)", s.Seen)
	case s.Version == unknownVersion:
		return fmt.Sprintf("%q at an unseen version > v%d", s.Value, s.Seen)
	default:
		return fmt.Sprintf("%q v%d", s.Value, s.Version)
	}
}

// hashState lets porcupine's cache compare fewer states; equal states hash equally.
func hashState(state interface{}) uint64 {
	s := state.(keyState)
	h := fnv.New64a()
	fmt.Fprintf(h, "%t/%d/%d/%s", s.Present, s.Version, s.Seen, s.Value)
	return h.Sum64()
}
