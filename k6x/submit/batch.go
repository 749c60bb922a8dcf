package submit

import "math"

// batchRules: when a VU's batch of request lines goes to k6's console (the request log in
// scenarios/lib/actions.ts, which gives them): when it holds Lines lines or its first line is Ms old, at once when
// the VU was not busy (its previous line came more than BusyMs before), and from TailFrom (ms since the epoch: the
// last seconds of the test's scenarios) on.
type batchRules struct {
	Lines    int     `js:"lines"`
	Ms       int64   `js:"ms"`
	BusyMs   int64   `js:"busyMs"`
	TailFrom float64 `js:"tailFrom"`
}

// batch: the clock of a VU's batch. In Go, as a JavaScript clock per submission cost a tenth of k6's CPU.
type batch struct {
	rules           batchRules
	count           int
	firstAt, lastAt int64
}

// added: a line joined the batch at now (ms); true when the batch is due (urgent: at once). Without rules every
// line is due.
func (b *batch) added(now int64, urgent bool) bool {
	idle := now-b.lastAt > b.rules.BusyMs
	b.lastAt = now
	if b.count == 0 {
		b.firstAt = now
	}
	b.count++
	tail := b.rules.TailFrom
	if math.IsNaN(tail) {
		tail = math.Inf(1)
	}
	return b.rules.Lines <= 0 || urgent || idle || float64(now) >= tail || b.count >= b.rules.Lines || now-b.firstAt >= b.rules.Ms
}
