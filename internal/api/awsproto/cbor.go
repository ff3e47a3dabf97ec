// This file: Smithy RPC v2 CBOR (CloudWatch for aws-sdk-go-v2 since 2025). The operation is
// named by the path /service/<Service>/operation/<Op>; bodies are CBOR maps of the input and
// output members; timestamps are tag 1 (epoch seconds); errors carry __type in the body.

package awsproto

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"math"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/fxamacker/cbor/v2"
)

// CBORPath splits /service/<service>/operation/<op>.
func CBORPath(path string) (service, op string, ok bool) {
	rest, found := strings.CutPrefix(path, "/service/")
	if !found {
		return "", "", false
	}
	service, op, found = strings.Cut(rest, "/operation/")
	if !found || service == "" || op == "" || strings.Contains(op, "/") {
		return "", "", false
	}
	return service, op, true
}

var cborDec = func() cbor.DecMode {
	m, err := cbor.DecOptions{
		DefaultMapType:   reflect.TypeOf(map[string]any(nil)),
		TimeTagToAny:     cbor.TimeTagToTime,
		MaxNestedLevels:  32,
		MaxArrayElements: 100_000,
		MaxMapPairs:      100_000,
		DupMapKey:        cbor.DupMapKeyEnforcedAPF,
	}.DecMode()
	if err != nil {
		panic(err)
	}
	return m
}()

var cborEnc = func() cbor.EncMode {
	m, err := cbor.EncOptions{Time: cbor.TimeUnixDynamic, TimeTag: cbor.EncTagRequired}.EncMode()
	if err != nil {
		panic(err)
	}
	return m
}()

// DecodeCBOR decodes a CBOR request body into v (a struct whose JSON decoding is the model's):
// the CBOR map becomes the equivalent JSON document, timestamps epoch seconds, so that one set
// of input types and one set of member errors serve the JSON and CBOR protocols alike. An empty
// body is an empty input.
func DecodeCBOR(body []byte, v any) *Error {
	if len(body) == 0 {
		return nil
	}
	var tree any
	if err := cborDec.Unmarshal(body, &tree); err != nil {
		return Errorf("SerializationException", "The request body is not valid CBOR: %v.", err)
	}
	if _, ok := tree.(map[string]any); !ok {
		return Errorf("SerializationException", "The request body must be a CBOR map of the operation's members.")
	}
	tree, err := jsonable(tree, "")
	if err != nil {
		return Errorf("SerializationException", "%v", err)
	}
	b, jerr := json.Marshal(tree)
	if jerr != nil {
		return Errorf("SerializationException", "The request body cannot be read: %v.", jerr)
	}
	return DecodeJSON(b, v)
}

// jsonable turns a decoded CBOR value into one encoding/json can write, naming the member that
// cannot be.
func jsonable(v any, path string) (any, error) {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			var err error
			if t[k], err = jsonable(e, join(path, k)); err != nil {
				return nil, err
			}
		}
	case []any:
		for i, e := range t {
			var err error
			if t[i], err = jsonable(e, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return nil, err
			}
		}
	case time.Time:
		return json.Number(strconv.FormatFloat(float64(t.UnixNano())/1e9, 'f', -1, 64)), nil
	case float64:
		if math.IsNaN(t) || math.IsInf(t, 0) {
			return nil, fmt.Errorf("Member %s: %v is not a finite number.", path, t)
		}
	case float32:
		if math.IsNaN(float64(t)) || math.IsInf(float64(t), 0) {
			return nil, fmt.Errorf("Member %s: %v is not a finite number.", path, t)
		}
	case cbor.Tag:
		return nil, fmt.Errorf("Member %s: CBOR tag %d is not supported.", path, t.Number)
	case map[any]any:
		return nil, fmt.Errorf("Member %s: map keys must be strings.", path)
	}
	return v, nil
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

// WriteCBOR writes a successful RPC v2 CBOR response.
func WriteCBOR(w http.ResponseWriter, v any) error {
	body, err := cborEnc.Marshal(v)
	if err != nil {
		return err
	}
	w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
	w.Header().Set("Content-Type", "application/cbor")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(body)
	return err
}

// WriteCBORError writes e in the RPC v2 CBOR error shape.
func WriteCBORError(w http.ResponseWriter, e *Error) {
	body, _ := cborEnc.Marshal(map[string]string{"__type": e.Code, "message": e.Message})
	w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
	w.Header().Set("Content-Type", "application/cbor")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(e.Status)
	w.Write(body)
}

// MarshalCBOR writes tag 1 with epoch seconds as a float, as AWS does.
func (t Timestamp) MarshalCBOR() ([]byte, error) {
	return cborEnc.Marshal(cbor.Tag{Number: 1, Content: float64(t.UnixMilli()) / 1e3})
}

// MarshalXML writes an awsQuery timestamp.
func (t Timestamp) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	return e.EncodeElement(XMLTime(t.Time), start)
}
