// This file: the awsQuery protocol (SNS; CloudWatch for older clients). Requests are forms
// naming the operation in Action; lists and maps are flattened into numbered keys; responses
// and errors are XML in the service's namespace.

package awsproto

import (
	"bytes"
	"encoding/xml"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Query is a decoded awsQuery request.
type Query struct {
	Action  string
	Version string
	Values  url.Values
}

// ParseQuery decodes an awsQuery form body. The Action names the operation.
func ParseQuery(body []byte) (*Query, *Error) {
	v, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, Errorf("MalformedQueryString", "The request body is not a valid form: %v.", err)
	}
	q := &Query{Action: v.Get("Action"), Version: v.Get("Version"), Values: v}
	if q.Action == "" {
		return nil, Errorf("MissingAction", "The request must contain the parameter Action.")
	}
	return q, nil
}

// Get returns the value of a parameter, "" when absent.
func (q *Query) Get(name string) string { return q.Values.Get(name) }

// Has reports whether a parameter is present, even with an empty value.
func (q *Query) Has(name string) bool { _, ok := q.Values[name]; return ok }

// Indexes returns, in numeric order, the prefixes "prefix.1", "prefix.2", … that some
// parameter starts with. prefix is the whole flattened list name, e.g. "AlarmNames.member" or
// "Attributes.entry"; a caller reads members as q.Get(p) or fields as q.Get(p + ".Name").
// Gaps in the numbering are kept out: clients number from 1 without gaps, and a member's
// position is its index order, not its number.
func (q *Query) Indexes(prefix string) []string {
	seen := map[int]bool{}
	pre := prefix + "."
	for k := range q.Values {
		if !strings.HasPrefix(k, pre) {
			continue
		}
		rest := k[len(pre):]
		if i := strings.IndexByte(rest, '.'); i >= 0 {
			rest = rest[:i]
		}
		if n, err := strconv.Atoi(rest); err == nil && n > 0 {
			seen[n] = true
		}
	}
	nums := make([]int, 0, len(seen))
	for n := range seen {
		nums = append(nums, n)
	}
	sort.Ints(nums)
	out := make([]string, len(nums))
	for i, n := range nums {
		out[i] = pre + strconv.Itoa(n)
	}
	return out
}

// List returns the members of a flattened list of strings, e.g. List("AlarmNames.member").
func (q *Query) List(prefix string) []string {
	idx := q.Indexes(prefix)
	out := make([]string, len(idx))
	for i, p := range idx {
		out[i] = q.Get(p)
	}
	return out
}

// Map returns a flattened map such as SNS's Attributes.entry.N.key / .value.
func (q *Query) Map(prefix, keyName, valueName string) map[string]string {
	idx := q.Indexes(prefix)
	if len(idx) == 0 {
		return nil
	}
	out := make(map[string]string, len(idx))
	for _, p := range idx {
		out[q.Get(p+"."+keyName)] = q.Get(p + "." + valueName)
	}
	return out
}

// QueryTime parses an awsQuery timestamp: ISO 8601, as clients send it.
func QueryTime(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return time.Unix(0, int64(f*1e9)).UTC(), true
	}
	return time.Time{}, false
}

// XMLTime formats a timestamp as awsQuery responses carry it.
func XMLTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// WriteQuery writes a successful awsQuery response for action. result is marshalled with
// encoding/xml as the <ActionResult> element; nil omits it, as for operations without output.
func WriteQuery(w http.ResponseWriter, xmlns, action, requestID string, result any) error {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	enc := xml.NewEncoder(&b)
	root := xml.StartElement{Name: xml.Name{Local: action + "Response"}, Attr: []xml.Attr{{Name: xml.Name{Local: "xmlns"}, Value: xmlns}}}
	if err := enc.EncodeToken(root); err != nil {
		return err
	}
	if result != nil {
		if err := enc.EncodeElement(result, xml.StartElement{Name: xml.Name{Local: action + "Result"}}); err != nil {
			return err
		}
	}
	meta := struct {
		RequestID string `xml:"RequestId"`
	}{requestID}
	if err := enc.EncodeElement(meta, xml.StartElement{Name: xml.Name{Local: "ResponseMetadata"}}); err != nil {
		return err
	}
	if err := enc.EncodeToken(root.End()); err != nil {
		return err
	}
	if err := enc.Flush(); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("Content-Length", strconv.Itoa(b.Len()))
	w.WriteHeader(http.StatusOK)
	_, err := w.Write(b.Bytes())
	return err
}

// WriteQueryError writes e in the awsQuery error shape. Type is Sender for client errors and
// Receiver for the service's own.
func WriteQueryError(w http.ResponseWriter, xmlns, requestID string, e *Error) {
	typ := "Sender"
	if e.Status >= 500 {
		typ = "Receiver"
	}
	type errorBody struct {
		Type    string
		Code    string
		Message string
	}
	body, _ := xml.Marshal(struct {
		XMLName   xml.Name `xml:"ErrorResponse"`
		XMLNS     string   `xml:"xmlns,attr"`
		Error     errorBody
		RequestID string `xml:"RequestId"`
	}{XMLNS: xmlns, Error: errorBody{typ, e.Code, e.Message}, RequestID: requestID})
	body = append([]byte(xml.Header), body...)
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(e.Status)
	w.Write(body)
}
