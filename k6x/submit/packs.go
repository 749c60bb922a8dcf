package submit

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
)

// The corpus's body packs (bodies/w<i>.bin, written by runner/corpus.ts), mapped into memory once per k6 process
// and shared by every VU: a VU's sender holds slices of them, so the corpus is in memory once, whatever the VU
// count, and none of it is on Go's heap (the collector neither scans it nor lets the heap grow to twice it). A pack
// stays mapped until k6 exits.
var packs = struct {
	sync.Mutex
	byPath map[string][]byte
}{byPath: map[string][]byte{}}

// pack: the bytes of the pack file at path (absolute), mapped on its first use
func pack(path string) ([]byte, error) {
	if !filepath.IsAbs(path) {
		return nil, fmt.Errorf("body pack %q: not an absolute path", path)
	}
	packs.Lock()
	defer packs.Unlock()
	if b, ok := packs.byPath[path]; ok {
		return b, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("body pack: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("body pack: %w", err)
	}
	b, err := mapFile(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("body pack %s: %w", path, err)
	}
	packs.byPath[path] = b
	return b, nil
}

// body: bytes [offset, offset+length) of a pack, capped at its length, so that nothing appended to it (a
// bytes.Buffer's Write) can reach into the next body or the read-only mapping
func body(p []byte, offset, length int) ([]byte, error) {
	if offset < 0 || length < 0 || offset > len(p) || length > len(p)-offset {
		return nil, fmt.Errorf("bytes %d+%d are outside the pack (%d bytes)", offset, length, len(p))
	}
	return p[offset : offset+length : offset+length], nil
}

// readWhole: the file's bytes read once onto the heap, where it cannot be mapped
func readWhole(f *os.File, size int64) ([]byte, error) {
	b := make([]byte, size)
	if _, err := io.ReadFull(f, b); err != nil {
		return nil, err
	}
	return b, nil
}
