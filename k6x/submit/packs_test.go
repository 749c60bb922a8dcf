package submit

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writePack(t *testing.T, name string, content []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, content, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPackIsMappedOnceAndShared(t *testing.T) {
	content := []byte("<a/>--bound\r\n<form>x</form>\r\n--bound--")
	p := writePack(t, "w0.bin", content)
	a, err := pack(p)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, content) {
		t.Fatalf("pack holds %q", a)
	}
	b, err := pack(p)
	if err != nil {
		t.Fatal(err)
	}
	// the second VU gets the same memory, not a copy
	if &a[0] != &b[0] {
		t.Error("a pack opened twice is two copies")
	}
	// once mapped, the file is not read again (k6 keeps its pack for the whole run)
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	c, err := pack(p)
	if err != nil || &c[0] != &a[0] {
		t.Errorf("a mapped pack is looked up again: %v", err)
	}
}

func TestBodySlices(t *testing.T) {
	p := []byte("aaabbbbcc")
	got, err := body(p, 3, 4)
	if err != nil || string(got) != "bbbb" {
		t.Fatalf("body(3, 4) = %q, %v", got, err)
	}
	if cap(got) != 4 {
		t.Errorf("a body's capacity is its length (got %d): an append must not write into the next body", cap(got))
	}
	if got, err := body(p, 9, 0); err != nil || len(got) != 0 {
		t.Errorf("an empty body at the end: %q, %v", got, err)
	}
	for _, c := range [][2]int{{-1, 2}, {0, 10}, {8, 2}, {10, 0}, {2, -1}} {
		if _, err := body(p, c[0], c[1]); err == nil || !strings.Contains(err.Error(), "outside the pack") {
			t.Errorf("body(%d, %d): %v", c[0], c[1], err)
		}
	}
}

func TestPackErrors(t *testing.T) {
	if _, err := pack("relative/w0.bin"); err == nil || !strings.Contains(err.Error(), "not an absolute path") {
		t.Errorf("a relative path: %v", err)
	}
	if _, err := pack(filepath.Join(t.TempDir(), "missing.bin")); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("a missing pack: %v", err)
	}
	empty, err := pack(writePack(t, "empty.bin", nil))
	if err != nil || len(empty) != 0 {
		t.Errorf("an empty pack: %q, %v", empty, err)
	}
}

// the read-once fallback of builds that do not map files, tested on every build
func TestReadWhole(t *testing.T) {
	p := writePack(t, "w1.bin", []byte("0123456789"))
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := readWhole(f, 10)
	if err != nil || string(b) != "0123456789" {
		t.Errorf("readWhole = %q, %v", b, err)
	}
	if _, err := readWhole(f, 10); err == nil {
		t.Error("a short read is an error")
	}
}
