package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/klauspost/compress/gzip"

	"github.com/cairn-dev/cairn/internal/api/awsproto"
	cw "github.com/cairn-dev/cairn/internal/metrics"
	"github.com/cairn-dev/cairn/internal/recorder"
)

// CloudWatch (signing name monitoring) is served over the three protocols its clients use
// (reference/monitoring.md §5.3): awsQuery (aws CLI v2 before 2.32.14), awsJson1_0 (botocore ≥
// 1.42.7) and Smithy RPC v2 CBOR (aws-sdk-go-v2 ≥ v1.53). Each operation is written once, over
// Go input and output structs; a codec per protocol decodes the request into the input struct
// and encodes the output or error.

const (
	cloudwatchTarget = "GraniteServiceVersion20100801"
	cloudwatchXMLNS  = "http://monitoring.amazonaws.com/doc/2010-08-01/"
)

type cwProtocol int

const (
	cwQuery cwProtocol = iota
	cwJSON
	cwCBOR
)

// cwOperation is one CloudWatch operation: a fresh input, and what to do with it.
type cwOperation struct {
	input func() any
	run   func(c *call, in any) (any, error)
}

// cwOp adapts a typed operation. Operations without output return *cwNoOutput.
func cwOp[I, O any](f func(c *call, in *I) (*O, error)) cwOperation {
	return cwOperation{
		input: func() any { return new(I) },
		run:   func(c *call, in any) (any, error) { return f(c, in.(*I)) },
	}
}

// cwNoOutput is the output of operations whose model has none (awsQuery omits the Result element).
type cwNoOutput struct{}

func (s *Server) cloudwatchOperations() map[string]cwOperation {
	return map[string]cwOperation{
		"PutMetricAlarm":          cwOp(s.putMetricAlarm),
		"DescribeAlarms":          cwOp(s.describeAlarms),
		"DescribeAlarmsForMetric": cwOp(s.describeAlarmsForMetric),
		"DeleteAlarms":            cwOp(s.deleteAlarms),
		"DescribeAlarmHistory":    cwOp(s.describeAlarmHistory),
		"SetAlarmState":           cwOp(s.setAlarmState),
		"EnableAlarmActions":      cwOp(s.enableAlarmActions),
		"DisableAlarmActions":     cwOp(s.disableAlarmActions),
		"PutMetricData":           cwOp(s.putMetricData),
		"GetMetricStatistics":     cwOp(s.getMetricStatistics),
		"GetMetricData":           cwOp(s.getMetricData),
		"ListMetrics":             cwOp(s.listMetrics),
		"TagResource":             cwOp(s.tagResource),
		"UntagResource":           cwOp(s.untagResource),
		"ListTagsForResource":     cwOp(s.listTagsForResource),
	}
}

// cwErrorCodes maps CloudWatch's error shape names (the JSON and CBOR __type) to the awsQuery
// codes that query clients see and that x-amzn-query-error carries for the others.
var cwErrorCodes = map[string]string{
	"InvalidParameterValueException":       "InvalidParameterValue",
	"MissingRequiredParameterException":    "MissingParameter",
	"InvalidParameterCombinationException": "InvalidParameterCombination",
	"ResourceNotFound":                     "ResourceNotFound",
	"ResourceNotFoundException":            "ResourceNotFoundException",
	"LimitExceededFault":                   "LimitExceeded",
	"InvalidFormatFault":                   "InvalidFormat",
	"InvalidNextToken":                     "InvalidNextToken",
	"InternalServiceFault":                 "InternalServiceError",
	"UnknownOperationException":            "InvalidAction",
}

// cloudwatch dispatches a CloudWatch call in whichever protocol it came.
func (s *Server) cloudwatch(c *call) {
	proto, op := cwQuery, ""
	if _, name, ok := awsproto.CBORPath(c.r.URL.Path); ok {
		proto, op = cwCBOR, name
	} else if prefix, name, ok := awsproto.Target(c.r.Header.Get("X-Amz-Target")); ok && prefix == cloudwatchTarget {
		proto, op = cwJSON, name
	}
	// Clients compress PutMetricData (the model's requestcompression trait): aws-sdk-go-v2
	// always, botocore above 10 KB. The signature covers the compressed bytes, checked already.
	if strings.Contains(strings.ToLower(c.r.Header.Get("Content-Encoding")), "gzip") {
		body, err := gunzip(c.body, maxRPCBody)
		if err != nil {
			c.op = op
			s.cwFail(c, proto, cwInvalid("The request body is not valid gzip: %v.", err))
			return
		}
		c.body = body
	}
	var q *awsproto.Query
	if proto == cwQuery {
		var err *awsproto.Error
		if q, err = awsproto.ParseQuery(c.body); err != nil {
			c.op = "Unknown"
			s.cwFail(c, proto, err)
			return
		}
		op = q.Action
	}
	c.op = op
	c.readOnly = recorder.ReadOnlyOperation(op)
	o, ok := s.cloudwatchOps[op]
	if c.r.Method != http.MethodPost || !ok {
		s.cwFail(c, proto, awsproto.Errorf("UnknownOperationException", "Operation %s is not supported by this cairn server.", op))
		return
	}
	in := o.input()
	var derr *awsproto.Error
	switch proto {
	case cwQuery:
		derr = awsproto.DecodeQuery(q, in)
	case cwJSON:
		derr = awsproto.DecodeJSON(c.body, in)
	case cwCBOR:
		derr = awsproto.DecodeCBOR(c.body, in)
	}
	if derr != nil {
		if derr.Code == "SerializationException" || derr.Code == "InvalidParameterValue" {
			derr.Code = "InvalidParameterValueException"
		}
		s.cwFail(c, proto, derr)
		return
	}
	if b, err := json.Marshal(in); err == nil {
		c.params = compactJSON(lowerCamelJSON(b))
	}
	if e := s.authorize(c, "cloudwatch"); e != nil {
		s.cwFail(c, proto, e)
		return
	}
	out, err := o.run(c, in)
	if err != nil {
		s.cwFail(c, proto, s.cwError(c, err))
		return
	}
	var werr error
	switch proto {
	case cwQuery:
		var result any = out
		if _, none := out.(*cwNoOutput); none {
			result = nil
		}
		werr = awsproto.WriteQuery(c.w, cloudwatchXMLNS, op, c.id, result)
	case cwJSON:
		werr = awsproto.WriteJSON(c.w, "1.0", out)
	case cwCBOR:
		werr = awsproto.WriteCBOR(c.w, out)
	}
	if werr != nil {
		s.cfg.Logger.Warn("write CloudWatch response", "operation", op, "request", c.id, "err", werr)
	}
}

func (s *Server) cwFail(c *call, proto cwProtocol, e *awsproto.Error) {
	code := cwErrorCodes[e.Code]
	if code == "" {
		code = e.Code
	}
	fault := "Sender"
	if e.Status >= 500 {
		fault = "Receiver"
	}
	switch proto {
	case cwQuery:
		c.fail(&awsproto.Error{Code: code, Message: e.Message, Status: e.Status}, func(w http.ResponseWriter, e *awsproto.Error) {
			awsproto.WriteQueryError(w, cloudwatchXMLNS, c.id, e)
		})
	case cwJSON:
		c.w.Header().Set("x-amzn-query-error", code+";"+fault)
		c.fail(e, func(w http.ResponseWriter, e *awsproto.Error) { awsproto.WriteJSONError(w, "1.0", e) })
	case cwCBOR:
		c.w.Header().Set("X-Amzn-Query-Error", code+";"+fault)
		c.fail(e, awsproto.WriteCBORError)
	}
}

// cwError maps a domain error to CloudWatch's error shape.
func (s *Server) cwError(c *call, err error) *awsproto.Error {
	var ae *awsproto.Error
	if errors.As(err, &ae) {
		return ae
	}
	var me *cw.Error
	if errors.As(err, &me) {
		shape := me.Code()
		if shape != "" {
			e := awsproto.Errorf(shape, "%s", me.Message)
			if me.Kind == cw.ErrNotFound {
				e.Status = http.StatusNotFound
				if strings.HasSuffix(c.op, "Resource") {
					e.Code = "ResourceNotFoundException"
				}
			}
			return e
		}
	}
	s.cfg.Logger.Error("CloudWatch operation failed", "operation", c.op, "request", c.id, "err", err)
	return &awsproto.Error{Code: "InternalServiceFault", Message: "cairn failed to process the request; request ID " + c.id + ".", Status: http.StatusInternalServerError}
}

// compactJSON drops null, empty-string and empty-list members, so that requestParameters
// records what the caller sent rather than every member of the input type.
func compactJSON(b []byte) []byte {
	var v any
	if json.Unmarshal(b, &v) != nil {
		return b
	}
	out, err := json.Marshal(compact(v))
	if err != nil {
		return b
	}
	return out
}

func compact(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			e = compact(e)
			if e == nil || e == "" {
				delete(t, k)
				continue
			}
			if l, ok := e.([]any); ok && len(l) == 0 {
				delete(t, k)
				continue
			}
			t[k] = e
		}
	case []any:
		for i := range t {
			t[i] = compact(t[i])
		}
	}
	return v
}

// gunzip decompresses a request body, refusing more than limit bytes.
func gunzip(b []byte, limit int64) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	out, err := io.ReadAll(io.LimitReader(zr, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(out)) > limit {
		return nil, fmt.Errorf("it decompresses to more than %d bytes", limit)
	}
	return out, nil
}

// Errors naming a member, in CloudWatch's words.
func cwMissing(member string) *awsproto.Error {
	return awsproto.Errorf("MissingRequiredParameterException", "The parameter %s is required.", member)
}

func cwInvalid(format string, args ...any) *awsproto.Error {
	return awsproto.Errorf("InvalidParameterValueException", format, args...)
}
