package event

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// scanner decodes a record in one pass over its bytes, validating the whole document as JSON
// (RFC 8259) while filling the fields cairn reads. It replaces reflection-driven decoding on
// the ingest path, where each event used to be decoded twice at about 6 µs each.
// Object-valued fields (json.RawMessage) and strings without escapes alias the input.
type scanner struct {
	b     []byte
	pos   int
	depth int
}

// maxDepth bounds nesting, so hostile input cannot exhaust the stack.
const maxDepth = 512

func (s *scanner) errorf(format string, args ...any) error {
	return &FieldError{Problem: fmt.Sprintf("malformed JSON at offset %d: %s", s.pos, fmt.Sprintf(format, args...))}
}

func (s *scanner) ws() {
	for s.pos < len(s.b) {
		switch s.b[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

func (s *scanner) peek() byte {
	if s.pos < len(s.b) {
		return s.b[s.pos]
	}
	return 0
}

func (s *scanner) expect(c byte) error {
	s.ws()
	if s.pos >= len(s.b) {
		return s.errorf("unexpected end of input, want %q", c)
	}
	if s.b[s.pos] != c {
		return s.errorf("want %q, got %q", c, s.b[s.pos])
	}
	s.pos++
	return nil
}

// object calls member for each member of the object at pos, positioned at its value.
func (s *scanner) object(member func(key []byte) error) error {
	if err := s.expect('{'); err != nil {
		return err
	}
	s.depth++
	if s.depth > maxDepth {
		return s.errorf("nested more than %d levels deep", maxDepth)
	}
	s.ws()
	if s.peek() == '}' {
		s.pos++
		s.depth--
		return nil
	}
	for {
		s.ws()
		if s.peek() != '"' {
			return s.errorf("want a member name")
		}
		key, err := s.rawString()
		if err != nil {
			return err
		}
		if err := s.expect(':'); err != nil {
			return err
		}
		s.ws()
		if err := member(key); err != nil {
			return err
		}
		s.ws()
		switch s.peek() {
		case ',':
			s.pos++
		case '}':
			s.pos++
			s.depth--
			return nil
		default:
			if s.pos >= len(s.b) {
				return s.errorf("unexpected end of input in an object")
			}
			return s.errorf("want ',' or '}' after a member, got %q", s.b[s.pos])
		}
	}
}

// rawString reads a string token and returns its contents without the quotes. Escapes are
// validated but not decoded; unquote decodes them when the value is kept.
func (s *scanner) rawString() ([]byte, error) {
	start := s.pos + 1
	// Fast path: most strings have no escapes; find the closing quote with a vectorised search
	// and only check the span for control characters.
	if q := bytes.IndexByte(s.b[start:], '"'); q >= 0 {
		span := s.b[start : start+q]
		if bytes.IndexByte(span, '\\') < 0 {
			for i, c := range span {
				if c < 0x20 {
					s.pos = start + i
					return nil, s.errorf("control character 0x%02x in a string", c)
				}
			}
			s.pos = start + q + 1
			return span, nil
		}
	}
	i := start
	for i < len(s.b) {
		c := s.b[i]
		switch {
		case c == '"':
			s.pos = i + 1
			return s.b[start:i], nil
		case c == '\\':
			if i+1 >= len(s.b) {
				s.pos = i
				return nil, s.errorf("unterminated string")
			}
			switch s.b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(s.b) || !isHex4(s.b[i+2:i+6]) {
					s.pos = i
					return nil, s.errorf("invalid \\u escape")
				}
				i += 6
			default:
				s.pos = i
				return nil, s.errorf("invalid escape \\%c", s.b[i+1])
			}
		case c < 0x20:
			s.pos = i
			return nil, s.errorf("control character 0x%02x in a string", c)
		default:
			i++
		}
	}
	s.pos = len(s.b)
	return nil, s.errorf("unterminated string")
}

func isHex4(b []byte) bool {
	for _, c := range b {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// unquote decodes the escapes of a validated raw string. Without escapes the result aliases
// raw (no copy): a Record's strings live as long as its Raw.
func unquote(raw []byte) string {
	if bytes.IndexByte(raw, '\\') < 0 {
		return view(raw)
	}
	out := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); {
		c := raw[i]
		if c != '\\' {
			out = append(out, c)
			i++
			continue
		}
		switch raw[i+1] {
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r1, _ := strconv.ParseUint(string(raw[i+2:i+6]), 16, 32)
			r := rune(r1)
			i += 6
			if utf16.IsSurrogate(r) && i+6 <= len(raw) && raw[i] == '\\' && raw[i+1] == 'u' {
				r2, _ := strconv.ParseUint(string(raw[i+2:i+6]), 16, 32)
				if dec := utf16.DecodeRune(r, rune(r2)); dec != utf8.RuneError {
					out = utf8.AppendRune(out, dec)
					i += 6
					continue
				}
			}
			if utf16.IsSurrogate(r) {
				r = utf8.RuneError
			}
			out = utf8.AppendRune(out, r)
			continue
		default: // '"', '\\', '/'
			out = append(out, raw[i+1])
		}
		i += 2
	}
	return string(out)
}

// skip validates and passes over any value, returning its bytes.
func (s *scanner) skip() ([]byte, error) {
	s.ws()
	start := s.pos
	if s.pos >= len(s.b) {
		return nil, s.errorf("unexpected end of input, want a value")
	}
	switch c := s.b[s.pos]; {
	case c == '{':
		if err := s.object(func([]byte) error { _, err := s.skip(); return err }); err != nil {
			return nil, err
		}
	case c == '[':
		if err := s.array(func() error { _, err := s.skip(); return err }); err != nil {
			return nil, err
		}
	case c == '"':
		if _, err := s.rawString(); err != nil {
			return nil, err
		}
	case c == 't':
		if err := s.literal("true"); err != nil {
			return nil, err
		}
	case c == 'f':
		if err := s.literal("false"); err != nil {
			return nil, err
		}
	case c == 'n':
		if err := s.literal("null"); err != nil {
			return nil, err
		}
	case c == '-' || '0' <= c && c <= '9':
		if err := s.number(); err != nil {
			return nil, err
		}
	default:
		return nil, s.errorf("unexpected %q, want a value", c)
	}
	return s.b[start:s.pos], nil
}

func (s *scanner) array(elem func() error) error {
	if err := s.expect('['); err != nil {
		return err
	}
	s.depth++
	if s.depth > maxDepth {
		return s.errorf("nested more than %d levels deep", maxDepth)
	}
	s.ws()
	if s.peek() == ']' {
		s.pos++
		s.depth--
		return nil
	}
	for {
		s.ws()
		if err := elem(); err != nil {
			return err
		}
		s.ws()
		switch s.peek() {
		case ',':
			s.pos++
		case ']':
			s.pos++
			s.depth--
			return nil
		default:
			if s.pos >= len(s.b) {
				return s.errorf("unexpected end of input in an array")
			}
			return s.errorf("want ',' or ']' in an array, got %q", s.b[s.pos])
		}
	}
}

func (s *scanner) literal(lit string) error {
	if len(s.b)-s.pos < len(lit) || string(s.b[s.pos:s.pos+len(lit)]) != lit {
		return s.errorf("invalid literal, want %s", lit)
	}
	s.pos += len(lit)
	return nil
}

// number validates a JSON number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *scanner) number() error {
	digits := func() int {
		n := 0
		for s.pos < len(s.b) && '0' <= s.b[s.pos] && s.b[s.pos] <= '9' {
			s.pos++
			n++
		}
		return n
	}
	if s.peek() == '-' {
		s.pos++
	}
	if s.peek() == '0' {
		s.pos++
	} else if digits() == 0 {
		return s.errorf("invalid number")
	}
	if s.peek() == '.' {
		s.pos++
		if digits() == 0 {
			return s.errorf("invalid number: digits must follow '.'")
		}
	}
	if c := s.peek(); c == 'e' || c == 'E' {
		s.pos++
		if c := s.peek(); c == '+' || c == '-' {
			s.pos++
		}
		if digits() == 0 {
			return s.errorf("invalid number: digits must follow the exponent")
		}
	}
	return nil
}

// kindOf names the JSON type of the value at pos, for type errors.
func (s *scanner) kindOf() string {
	switch c := s.peek(); {
	case c == '{':
		return "object"
	case c == '[':
		return "array"
	case c == '"':
		return "string"
	case c == 't' || c == 'f':
		return "boolean"
	case c == 'n':
		return "null"
	}
	return "number"
}

// str reads a string field; null leaves it empty, as encoding/json does.
func (s *scanner) str(field string, dst *string) error {
	switch s.peek() {
	case '"':
		raw, err := s.rawString()
		if err != nil {
			return err
		}
		*dst = unquote(raw)
		return nil
	case 'n':
		return s.literal("null")
	}
	return invalid(field, "want a string, got JSON %s", s.kindOf())
}

// boolean reads a boolean field; null leaves it nil.
func (s *scanner) boolean(field string, dst **bool) error {
	switch s.peek() {
	case 't', 'f':
		v := s.peek() == 't'
		if err := s.literal(strconv.FormatBool(v)); err != nil {
			return err
		}
		*dst = &v
		return nil
	case 'n':
		*dst = nil
		return s.literal("null")
	}
	return invalid(field, "want a boolean, got JSON %s", s.kindOf())
}

// raw keeps any value as json.RawMessage aliasing the input; null is kept as "null".
func (s *scanner) raw(dst *json.RawMessage) error {
	v, err := s.skip()
	if err != nil {
		return err
	}
	*dst = v
	return nil
}

// obj decodes an object field with member, or leaves it nil for null.
func (s *scanner) obj(field string, member func(key []byte) error) (present bool, err error) {
	switch s.peek() {
	case '{':
		return true, s.object(member)
	case 'n':
		return false, s.literal("null")
	}
	return false, invalid(field, "want an object, got JSON %s", s.kindOf())
}

func (s *scanner) record(r *Record) error {
	return s.object(func(key []byte) error {
		switch string(key) {
		case "eventVersion":
			return s.str("eventVersion", &r.EventVersion)
		case "userIdentity":
			u := reuse(r.UserIdentity)
			ok, err := s.obj("userIdentity", func(k []byte) error { return s.userIdentity(k, u) })
			r.UserIdentity = keep(ok, u)
			return err
		case "eventTime":
			return s.str("eventTime", &r.EventTimeText)
		case "eventSource":
			return s.str("eventSource", &r.EventSource)
		case "eventName":
			return s.str("eventName", &r.EventName)
		case "awsRegion":
			return s.str("awsRegion", &r.AWSRegion)
		case "sourceIPAddress":
			return s.str("sourceIPAddress", &r.SourceIPAddress)
		case "userAgent":
			return s.str("userAgent", &r.UserAgent)
		case "errorCode":
			return s.str("errorCode", &r.ErrorCode)
		case "errorMessage":
			return s.str("errorMessage", &r.ErrorMessage)
		case "requestParameters":
			return s.raw(&r.RequestParameters)
		case "responseElements":
			return s.raw(&r.ResponseElements)
		case "additionalEventData":
			return s.raw(&r.AdditionalEventData)
		case "requestID":
			return s.str("requestID", &r.RequestID)
		case "eventID":
			return s.str("eventID", &r.EventID)
		case "eventType":
			return s.str("eventType", &r.EventType)
		case "apiVersion":
			return s.str("apiVersion", &r.APIVersion)
		case "managementEvent":
			return s.boolean("managementEvent", &r.ManagementEvent)
		case "readOnly":
			return s.boolean("readOnly", &r.ReadOnly)
		case "resources":
			return s.resources(r)
		case "recipientAccountId":
			return s.str("recipientAccountId", &r.RecipientAccountID)
		case "serviceEventDetails":
			return s.raw(&r.ServiceEventDetails)
		case "sharedEventID":
			return s.str("sharedEventID", &r.SharedEventID)
		case "vpcEndpointId":
			return s.str("vpcEndpointId", &r.VPCEndpointID)
		case "vpcEndpointAccountId":
			return s.str("vpcEndpointAccountId", &r.VPCEndpointAccountID)
		case "eventCategory":
			return s.str("eventCategory", &r.EventCategory)
		case "addendum":
			return s.raw(&r.Addendum)
		case "sessionCredentialFromConsole":
			return s.str("sessionCredentialFromConsole", &r.SessionCredentialFromConsole)
		case "edgeDeviceDetails":
			return s.raw(&r.EdgeDeviceDetails)
		case "tlsDetails":
			t := reuse(r.TLSDetails)
			ok, err := s.obj("tlsDetails", func(k []byte) error {
				switch string(k) {
				case "tlsVersion":
					return s.str("tlsDetails.tlsVersion", &t.TLSVersion)
				case "cipherSuite":
					return s.str("tlsDetails.cipherSuite", &t.CipherSuite)
				case "clientProvidedHostHeader":
					return s.str("tlsDetails.clientProvidedHostHeader", &t.ClientProvidedHostHeader)
				}
				_, err := s.skip()
				return err
			})
			r.TLSDetails = keep(ok, t)
			return err
		case "insightDetails":
			d := reuse(r.InsightDetails)
			ok, err := s.obj("insightDetails", func(k []byte) error {
				switch string(k) {
				case "state":
					return s.str("insightDetails.state", &d.State)
				case "eventSource":
					return s.str("insightDetails.eventSource", &d.EventSource)
				case "eventName":
					return s.str("insightDetails.eventName", &d.EventName)
				case "insightType":
					return s.str("insightDetails.insightType", &d.InsightType)
				case "errorCode":
					return s.str("insightDetails.errorCode", &d.ErrorCode)
				case "insightContext":
					return s.raw(&d.InsightContext)
				}
				_, err := s.skip()
				return err
			})
			r.InsightDetails = keep(ok, d)
			return err
		case "eventContext":
			return s.raw(&r.EventContext)
		case "annotation":
			return s.str("annotation", &r.Annotation)
		}
		_, err := s.skip()
		return err
	})
}

func (s *scanner) userIdentity(k []byte, u *UserIdentity) error {
	switch string(k) {
	case "type":
		return s.str("userIdentity.type", &u.Type)
	case "principalId":
		return s.str("userIdentity.principalId", &u.PrincipalID)
	case "arn":
		return s.str("userIdentity.arn", &u.ARN)
	case "accountId":
		return s.str("userIdentity.accountId", &u.AccountID)
	case "accessKeyId":
		return s.str("userIdentity.accessKeyId", &u.AccessKeyID)
	case "userName":
		return s.str("userIdentity.userName", &u.UserName)
	case "invokedBy":
		return s.str("userIdentity.invokedBy", &u.InvokedBy)
	case "identityProvider":
		return s.str("userIdentity.identityProvider", &u.IdentityProvider)
	case "credentialId":
		return s.str("userIdentity.credentialId", &u.CredentialID)
	case "onBehalfOf":
		return s.raw(&u.OnBehalfOf)
	case "inScopeOf":
		return s.raw(&u.InScopeOf)
	case "sessionContext":
		sc := reuse(u.SessionContext)
		ok, err := s.obj("userIdentity.sessionContext", func(k []byte) error { return s.sessionContext(k, sc) })
		u.SessionContext = keep(ok, sc)
		return err
	}
	_, err := s.skip()
	return err
}

func (s *scanner) sessionContext(k []byte, sc *SessionContext) error {
	const f = "userIdentity.sessionContext."
	switch string(k) {
	case "attributes":
		a := reuse(sc.Attributes)
		ok, err := s.obj(f+"attributes", func(k []byte) error {
			switch string(k) {
			case "creationDate":
				return s.str(f+"attributes.creationDate", &a.CreationDate)
			case "mfaAuthenticated":
				return s.str(f+"attributes.mfaAuthenticated", &a.MFAAuthenticated)
			}
			_, err := s.skip()
			return err
		})
		sc.Attributes = keep(ok, a)
		return err
	case "sessionIssuer":
		is := reuse(sc.SessionIssuer)
		ok, err := s.obj(f+"sessionIssuer", func(k []byte) error {
			switch string(k) {
			case "type":
				return s.str(f+"sessionIssuer.type", &is.Type)
			case "principalId":
				return s.str(f+"sessionIssuer.principalId", &is.PrincipalID)
			case "arn":
				return s.str(f+"sessionIssuer.arn", &is.ARN)
			case "accountId":
				return s.str(f+"sessionIssuer.accountId", &is.AccountID)
			case "userName":
				return s.str(f+"sessionIssuer.userName", &is.UserName)
			}
			_, err := s.skip()
			return err
		})
		sc.SessionIssuer = keep(ok, is)
		return err
	case "webIdFederationData":
		w := reuse(sc.WebIDFederationData)
		ok, err := s.obj(f+"webIdFederationData", func(k []byte) error {
			switch string(k) {
			case "federatedProvider":
				return s.str(f+"webIdFederationData.federatedProvider", &w.FederatedProvider)
			case "attributes":
				return s.raw(&w.Attributes)
			}
			_, err := s.skip()
			return err
		})
		sc.WebIDFederationData = keep(ok, w)
		return err
	case "sourceIdentity":
		return s.str(f+"sourceIdentity", &sc.SourceIdentity)
	case "ec2RoleDelivery":
		return s.str(f+"ec2RoleDelivery", &sc.EC2RoleDelivery)
	case "ec2IssuedInVPC":
		return s.str(f+"ec2IssuedInVPC", &sc.EC2IssuedInVPC)
	}
	_, err := s.skip()
	return err
}

func (s *scanner) resources(r *Record) error {
	switch s.peek() {
	case 'n':
		r.Resources = nil
		return s.literal("null")
	case '[':
	default:
		return invalid("resources", "want an array, got JSON %s", s.kindOf())
	}
	r.Resources = r.Resources[:0]
	return s.array(func() error {
		var res Resource
		ok, err := s.obj("resources[]", func(k []byte) error {
			switch string(k) {
			case "accountId":
				return s.str("resources[].accountId", &res.AccountID)
			case "type":
				return s.str("resources[].type", &res.Type)
			case "ARN":
				return s.str("resources[].ARN", &res.ARN)
			case "ARNPrefix":
				return s.str("resources[].ARNPrefix", &res.ARNPrefix)
			}
			_, err := s.skip()
			return err
		})
		if err == nil {
			r.Resources = append(r.Resources, res) // null elements become zero values, as in encoding/json
		}
		_ = ok
		return err
	})
}

// reuse returns p, or a new T when p is nil: a repeated member decodes into the same struct, as
// encoding/json does.
func reuse[T any](p *T) *T {
	if p == nil {
		return new(T)
	}
	return p
}

// keep returns p when the member was an object and nil when it was null.
func keep[T any](ok bool, p *T) *T {
	if ok {
		return p
	}
	return nil
}

// view returns b as a string without copying; it is valid while b is unchanged.
func view(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
