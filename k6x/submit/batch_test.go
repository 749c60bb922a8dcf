package submit

import (
	"math"
	"testing"
)

// The rules of scenarios/lib/actions.ts's lineAdded, kept in Go for the submissions.
func TestBatchIsDueAsTheRequestLogSays(t *testing.T) {
	rules := batchRules{Lines: 3, Ms: 200, BusyMs: 50, TailFrom: math.Inf(1)}
	b := batch{rules: rules}
	// the first line of an idle VU goes out at once
	if !b.added(1000, false) {
		t.Error("a VU that was idle writes its line at once")
	}
	b = batch{rules: rules, lastAt: 1000}
	if b.added(1010, false) || b.added(1020, false) {
		t.Error("a busy VU batches its lines")
	}
	if !b.added(1030, false) {
		t.Error("the third line fills a batch of 3")
	}
	b.count = 0
	if b.added(1040, false) || b.added(1080, false) {
		t.Error("still busy: batched")
	}
	if !b.added(1245, false) {
		t.Error("the batch's first line is 205 ms old: due")
	}
	b.count = 0
	if !b.added(1246, true) {
		t.Error("an urgent line goes at once")
	}
	b.count = 0
	if !b.added(1400, false) {
		t.Error("154 ms since the last line: the VU was not busy")
	}
	b = batch{rules: batchRules{Lines: 64, Ms: 200, BusyMs: 50, TailFrom: 5000}, lastAt: 4990}
	if b.added(4995, false) || !b.added(5000, false) {
		t.Error("from the tail on, every line goes at once")
	}
	if !(&batch{}).added(1, false) {
		t.Error("without rules every line is due")
	}
	nan := batch{rules: batchRules{Lines: 64, Ms: 200, BusyMs: 50, TailFrom: math.NaN()}, lastAt: 10}
	if nan.added(20, false) {
		t.Error("a tail that is not a number is no tail")
	}
}
