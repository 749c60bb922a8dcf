package submit

import (
	"encoding/json"
	"net/http"
	"testing"
)

// The lines must be what scenarios/lib/actions.ts writes in JavaScript, byte for byte, and valid JSON.
func TestAppendLine(t *testing.T) {
	cases := []struct {
		name   string
		got    []byte
		expect string
	}{
		{"accepted, followed", appendLine(nil, 1795416467410, 0.269357, 201, true, `"w":0,"form":"register_household"`, "4f1c-9a", true),
			`{"e":"receiver","t":1795416467410,"d":0.269357,"s":201,"ok":1,"w":0,"form":"register_household","ack":"4f1c-9a","f":1}`},
		{"accepted", appendLine(nil, 5, 12.5, 201, true, `"w":3,"form":"visit"`, "abc", false),
			`{"e":"receiver","t":5,"d":12.5,"s":201,"ok":1,"w":3,"form":"visit","ack":"abc"}`},
		{"whole milliseconds as JavaScript prints them", appendLine(nil, 5, 3, 201, true, `"w":3,"form":"visit"`, "", false),
			`{"e":"receiver","t":5,"d":3,"s":201,"ok":1,"w":3,"form":"visit","ack":""}`},
		{"rejected: no ack, never followed", appendLine(nil, 7, 1.25, 422, false, `"w":1,"form":"f"`, "", true),
			`{"e":"receiver","t":7,"d":1.25,"s":422,"ok":0,"w":1,"form":"f"}`},
		{"no answer (status 0)", appendLine(nil, 7, 60000.5, 0, false, `"w":1,"form":"f"`, "", false),
			`{"e":"receiver","t":7,"d":60000.5,"s":0,"ok":0,"w":1,"form":"f"}`},
		{"an odd form id is escaped", appendLine(nil, 1, 1, 201, true, `"w":1,"form":"f"`, "a\"b\\c\n", false),
			`{"e":"receiver","t":1,"d":1,"s":201,"ok":1,"w":1,"form":"f","ack":"a\"b\\c\n"}`},
	}
	for _, c := range cases {
		if string(c.got) != c.expect {
			t.Errorf("%s:\n got  %s\n want %s", c.name, c.got, c.expect)
		}
		var v map[string]any
		if err := json.Unmarshal(c.got, &v); err != nil {
			t.Errorf("%s: not JSON: %v", c.name, err)
		}
	}
	// lines follow one another in the VU's buffer
	b := appendLine(nil, 1, 1, 201, true, `"w":1,"form":"f"`, "x", false)
	b = append(b, '\n')
	b = appendLine(b, 2, 2, 500, false, `"w":2,"form":"g"`, "", false)
	if string(b) != `{"e":"receiver","t":1,"d":1,"s":201,"ok":1,"w":1,"form":"f","ack":"x"}`+"\n"+`{"e":"receiver","t":2,"d":2,"s":500,"ok":0,"w":2,"form":"g"}` {
		t.Errorf("two lines: %s", b)
	}
}

func TestAccepted(t *testing.T) {
	success := []byte(`<OpenRosaResponse xmlns="http://openrosa.org/http/response"><message nature="submit_success">   √   </message></OpenRosaResponse>`)
	failure := []byte(`<OpenRosaResponse xmlns="http://openrosa.org/http/response"><message nature="submit_error">InvalidCaseIndex</message></OpenRosaResponse>`)
	if !accepted(201, success) {
		t.Error("201 submit_success is accepted")
	}
	if accepted(201, failure) {
		t.Error("HQ's 201 submit_error is a failure")
	}
	if accepted(200, success) || accepted(422, success) || accepted(0, nil) {
		t.Error("only a 201 is accepted")
	}
}

func TestExpectedStatus(t *testing.T) {
	for _, s := range []int{200, 201, 302, 399} {
		if !expectedStatus(s) {
			t.Errorf("%d is expected, as k6's default callback says", s)
		}
	}
	for _, s := range []int{0, 199, 400, 422, 500} {
		if expectedStatus(s) {
			t.Errorf("%d is not expected", s)
		}
	}
}

func TestRequestHeader(t *testing.T) {
	tpl := http.Header{}
	tpl.Set("Authorization", "Basic x")
	tpl.Set("Content-Type", "text/xml")
	h := requestHeader(tpl, "multipart/form-data; boundary=----capacityab")
	if h.Get("Content-Type") != "multipart/form-data; boundary=----capacityab" || h.Get("Authorization") != "Basic x" {
		t.Errorf("the body's type over the template's: %v", h)
	}
	h.Set("User-Agent", "k6")
	if tpl.Get("Content-Type") != "text/xml" || tpl.Get("User-Agent") != "" {
		t.Errorf("the template is left as it was: %v", tpl)
	}
	if requestHeader(tpl, "").Get("Content-Type") != "text/xml" {
		t.Error("no type of its own: the template's")
	}
}
