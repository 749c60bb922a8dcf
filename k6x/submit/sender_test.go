package submit

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// corpusWorker: worker w's pack and index in dir, as runner/corpus.ts writes them
func corpusWorker(t *testing.T, dir string, w string, bodies []string, forms []int, types []string) (pack, index string) {
	t.Helper()
	ix := packIndex{Forms: forms, Types: types}
	for _, b := range bodies {
		ix.Lengths = append(ix.Lengths, len(b))
	}
	raw, _ := json.Marshal(ix)
	pack, index = filepath.Join(dir, w+".bin"), filepath.Join(dir, w+".json")
	if err := os.WriteFile(pack, []byte(strings.Join(bodies, "")), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(index, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	return pack, index
}

type specWorker = struct {
	W       int               `js:"w"`
	Pack    string            `js:"pack"`
	Index   string            `js:"index"`
	Headers map[string]string `js:"headers"`
}

func TestSenderInterleavesWorkersInTimelineOrder(t *testing.T) {
	dir := t.TempDir()
	p3, i3 := corpusWorker(t, dir, "w3", []string{"a1", "a2-", "a3--"}, []int{0, 1, 0}, []string{"t/a1", "t/a2", "t/a3"})
	p7, i7 := corpusWorker(t, dir, "w7", []string{"b1"}, []int{1}, []string{"t/b1"})
	s, err := buildSender(senderSpec{
		URL: "http://127.0.0.1:1/a/d/receiver/",
		Workers: []specWorker{
			{W: 3, Pack: p3, Index: i3, Headers: map[string]string{"Authorization": "Basic w3"}},
			{W: 7, Pack: p7, Index: i7, Headers: map[string]string{"Authorization": "Basic w7"}},
		},
		Forms: []string{"register", `visit "home"`},
		Tags:  map[string]string{"endpoint": "receiver", "form": "ignored"},
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for k, b := range s.bodies {
		tpl := s.templates[s.templateOf[k]]
		got = append(got, string(b)+" "+s.types[k]+" "+tpl.prefix+" "+tpl.header.Get("Authorization"))
	}
	want := []string{
		`a1 t/a1 "w":3,"form":"register" Basic w3`,
		`b1 t/b1 "w":7,"form":"visit \"home\"" Basic w7`,
		`a2- t/a2 "w":3,"form":"visit \"home\"" Basic w3`,
		`a3-- t/a3 "w":3,"form":"register" Basic w3`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("send order:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// one template per worker and form, shared by its bodies
	if len(s.templates) != 3 || s.templateOf[0] != s.templateOf[3] {
		t.Errorf("%d templates, template of each body %v", len(s.templates), s.templateOf)
	}
	if tags := s.templates[1].tags; len(tags) != 2 || tags[0] != [2]string{"endpoint", "receiver"} || tags[1] != [2]string{"form", `visit "home"`} {
		t.Errorf("tags %v", tags)
	}
	if s.wire == nil {
		t.Error("an http URL goes out on the wire")
	}
}

func TestSenderRefusesABadCorpus(t *testing.T) {
	dir := t.TempDir()
	p, i := corpusWorker(t, dir, "w0", []string{"x"}, []int{2}, []string{"t"})
	badLengths := filepath.Join(dir, "short.json")
	_ = os.WriteFile(badLengths, []byte(`{"lengths":[1,1],"forms":[0],"types":["t"]}`), 0o644)
	outside := filepath.Join(dir, "outside.json")
	_ = os.WriteFile(outside, []byte(`{"lengths":[5],"forms":[0],"types":["t"]}`), 0o644)
	notJSON := filepath.Join(dir, "bad.json")
	_ = os.WriteFile(notJSON, []byte(`{"lengths":`), 0o644)
	for name, c := range map[string]struct {
		pack, index string
		want        string
	}{
		"a form the corpus lacks": {p, i, "form 2 is not in the corpus's 1 forms"},
		"an index out of step":    {p, badLengths, "2 lengths, 1 forms, 1 types"},
		"a body past the pack":    {p, outside, "outside the pack"},
		"an unreadable index":     {p, notJSON, "pack index " + notJSON},
		"a relative index":        {p, "w0.json", "not an absolute path"},
		"a missing index":         {p, filepath.Join(dir, "none.json"), "no such file"},
	} {
		_, err := buildSender(senderSpec{URL: "http://h/", Workers: []specWorker{{Pack: c.pack, Index: c.index}}, Forms: []string{"f"}})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one saying %q", name, err, c.want)
		}
	}
}
