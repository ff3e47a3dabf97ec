package awsproto

import (
	"math"
	"reflect"
	"strconv"
	"strings"
)

// DecodeQuery fills v, a pointer to an input struct, from an awsQuery form, driven by the
// struct's fields: each field is the member of its name (its json tag's name when it has one);
// slices are lists (Member.member.N), structs nest (Member.Field), *T members are set only when
// present; Timestamp members take ISO 8601. A value that does not parse is an
// InvalidParameterValue error naming the member as the form did.
func DecodeQuery(q *Query, v any) *Error {
	return decodeQuery(q, "", reflect.ValueOf(v).Elem())
}

var timestampType = reflect.TypeOf(Timestamp{})

func decodeQuery(q *Query, prefix string, v reflect.Value) *Error {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name := f.Name
		if tag, _, _ := strings.Cut(f.Tag.Get("json"), ","); tag == "-" {
			continue
		} else if tag != "" {
			name = tag
		}
		if err := decodeMember(q, prefix+name, v.Field(i)); err != nil {
			return err
		}
	}
	return nil
}

// present reports whether any parameter is key or starts with key + ".".
func (q *Query) present(key string) bool {
	if q.Has(key) {
		return true
	}
	for k := range q.Values {
		if strings.HasPrefix(k, key+".") {
			return true
		}
	}
	return false
}

func decodeMember(q *Query, key string, v reflect.Value) *Error {
	switch v.Kind() {
	case reflect.Pointer:
		if !q.present(key) {
			return nil
		}
		p := reflect.New(v.Type().Elem())
		if err := decodeMember(q, key, p.Elem()); err != nil {
			return err
		}
		v.Set(p)
		return nil
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 { // blobs are not used by these services
			return nil
		}
		idx := q.Indexes(key + ".member")
		if len(idx) == 0 {
			if q.Has(key) && q.Get(key) == "" {
				v.Set(reflect.MakeSlice(v.Type(), 0, 0)) // an explicitly empty list
			}
			return nil
		}
		s := reflect.MakeSlice(v.Type(), len(idx), len(idx))
		for i, p := range idx {
			if err := decodeMember(q, p, s.Index(i)); err != nil {
				return err
			}
		}
		v.Set(s)
		return nil
	case reflect.Struct:
		if v.Type() == timestampType {
			t, ok := QueryTime(q.Get(key))
			if !ok {
				return Errorf("InvalidParameterValue", "The value %q for parameter %s is not a valid ISO 8601 timestamp.", q.Get(key), key)
			}
			v.Set(reflect.ValueOf(Timestamp{t}))
			return nil
		}
		return decodeQuery(q, key+".", v)
	}
	if !q.Has(key) {
		return nil
	}
	s := q.Get(key)
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return Errorf("InvalidParameterValue", "The value %q for parameter %s is not a boolean.", s, key)
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || v.OverflowInt(n) {
			return Errorf("InvalidParameterValue", "The value %q for parameter %s is not an integer.", s, key)
		}
		v.SetInt(n)
	case reflect.Float64:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return Errorf("InvalidParameterValue", "The value %q for parameter %s is not a finite number.", s, key)
		}
		v.SetFloat(f)
	}
	return nil
}
