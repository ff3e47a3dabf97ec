package metrics

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Errors a caller can get wrong; the API maps each to CloudWatch's error code.
var (
	ErrInvalidParameter   = errors.New("invalid parameter value")
	ErrMissingParameter   = errors.New("missing parameter")
	ErrInvalidCombination = errors.New("invalid parameter combination")
	ErrNotFound           = errors.New("resource not found")
	ErrLimitExceeded      = errors.New("limit exceeded")
	ErrInvalidFormat      = errors.New("invalid format")
	ErrInvalidNextToken   = errors.New("invalid next token")
)

// Error is a rejected request: its kind (one of the Err* sentinels) and a message naming the
// member that is wrong.
type Error struct {
	Kind    error
	Message string
}

func (e *Error) Error() string { return e.Message }
func (e *Error) Unwrap() error { return e.Kind }

// Code is CloudWatch's error code for e's kind ("" for a kind it has none for).
func (e *Error) Code() string { return errorCodes[e.Kind] }

var errorCodes = map[error]string{
	ErrInvalidParameter:   "InvalidParameterValueException",
	ErrMissingParameter:   "MissingRequiredParameterException",
	ErrInvalidCombination: "InvalidParameterCombinationException",
	ErrNotFound:           "ResourceNotFound",
	ErrLimitExceeded:      "LimitExceededFault",
	ErrInvalidFormat:      "InvalidFormatFault",
	ErrInvalidNextToken:   "InvalidNextToken",
}

func invalid(format string, args ...any) error {
	return &Error{Kind: ErrInvalidParameter, Message: fmt.Sprintf(format, args...)}
}

func missing(member string) error {
	return &Error{Kind: ErrMissingParameter, Message: fmt.Sprintf("The parameter %s is required.", member)}
}

// Alarm states.
const (
	StateOK               = "OK"
	StateAlarm            = "ALARM"
	StateInsufficientData = "INSUFFICIENT_DATA"
)

// Tag is a key/value pair on an alarm.
type Tag struct {
	Key   string
	Value string
}

// AlarmConfig is what PutMetricAlarm sets: the whole configuration, replaced on update.
type AlarmConfig struct {
	Name                             string
	Description                      *string `json:",omitempty"`
	ActionsEnabled                   bool
	OKActions                        []string
	AlarmActions                     []string
	InsufficientDataActions          []string
	Namespace                        string
	MetricName                       string
	Dimensions                       []Dimension
	Statistic                        string `json:",omitempty"`
	ExtendedStatistic                string `json:",omitempty"`
	Period                           int    // seconds
	Unit                             string `json:",omitempty"`
	EvaluationPeriods                int
	DatapointsToAlarm                int // 0 = EvaluationPeriods
	Threshold                        float64
	ComparisonOperator               string
	TreatMissingData                 string `json:",omitempty"` // "" = missing
	EvaluateLowSampleCountPercentile string `json:",omitempty"`
	Tags                             []Tag  `json:",omitempty"`
}

// Alarm is an alarm with its state.
type Alarm struct {
	AlarmConfig
	Account, Region   string
	State             string
	StateReason       string
	StateReasonData   string // JSON, "" when none
	StateUpdated      time.Time
	StateTransitioned time.Time
	ConfigUpdated     time.Time
}

// ARN is the alarm's ARN.
func (a *Alarm) ARN() string { return AlarmARN(a.Region, a.Account, a.Name) }

// AlarmARN is CloudWatch's alarm ARN.
func AlarmARN(region, account, name string) string {
	return "arn:aws:cloudwatch:" + region + ":" + account + ":alarm:" + name
}

// M is DatapointsToAlarm with its default.
func (c *AlarmConfig) M() int {
	if c.DatapointsToAlarm > 0 {
		return c.DatapointsToAlarm
	}
	return c.EvaluationPeriods
}

// Treatment is TreatMissingData with its default.
func (c *AlarmConfig) Treatment() string {
	if c.TreatMissingData == "" {
		return "missing"
	}
	return c.TreatMissingData
}

// StatName is the statistic the alarm evaluates: Statistic or ExtendedStatistic.
func (c *AlarmConfig) StatName() string {
	if c.ExtendedStatistic != "" {
		return c.ExtendedStatistic
	}
	return c.Statistic
}

var (
	statistics  = []string{"SampleCount", "Average", "Sum", "Minimum", "Maximum"}
	comparisons = map[string]string{
		"GreaterThanOrEqualToThreshold": "greater than or equal to",
		"GreaterThanThreshold":          "greater than",
		"LessThanThreshold":             "less than",
		"LessThanOrEqualToThreshold":    "less than or equal to",
	}
	treatments   = []string{"missing", "notBreaching", "breaching", "ignore"}
	units        = strings.Fields("Seconds Microseconds Milliseconds Bytes Kilobytes Megabytes Gigabytes Terabytes Bits Kilobits Megabits Gigabits Terabits Percent Count Bytes/Second Kilobytes/Second Megabytes/Second Gigabytes/Second Terabytes/Second Bits/Second Kilobits/Second Megabits/Second Gigabits/Second Terabits/Second Count/Second None")
	percentileRe = regexp.MustCompile(`^p(\d{1,2}(\.\d{1,10})?|100)$`)
)

// ValidUnit reports whether u is a CloudWatch StandardUnit ("" = none given).
func ValidUnit(u string) bool { return u == "" || contains(units, u) }

// ValidStatistic reports whether s is one of the five simple statistics.
func ValidStatistic(s string) bool { return contains(statistics, s) }

// ParsePercentile parses pNN or pNN.NN (0 < NN ≤ 100), the extended statistics cairn computes.
func ParsePercentile(s string) (float64, bool) {
	if !percentileRe.MatchString(s) {
		return 0, false
	}
	p, err := strconv.ParseFloat(s[1:], 64)
	if err != nil || p <= 0 || p > 100 {
		return 0, false
	}
	return p, true
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Validate checks a configuration as PutMetricAlarm does; every problem names its member.
func (c *AlarmConfig) Validate() error {
	switch {
	case c.Name == "":
		return missing("AlarmName")
	case len(c.Name) > 255:
		return invalid("The parameter AlarmName must be at most 255 characters long.")
	case strings.IndexFunc(c.Name, unicode.IsControl) >= 0:
		return invalid("The parameter AlarmName must not contain control characters.")
	case c.Description != nil && len(*c.Description) > 1024:
		return invalid("The parameter AlarmDescription must be at most 1024 characters long.")
	case c.MetricName == "":
		return missing("MetricName")
	case c.Namespace == "":
		return missing("Namespace")
	case len(c.MetricName) > 255:
		return invalid("The parameter MetricName must be at most 255 characters long.")
	case len(c.Namespace) > 255 || strings.HasPrefix(c.Namespace, ":"):
		return invalid("The value %s for parameter Namespace is invalid.", c.Namespace)
	case len(c.Dimensions) > 30:
		return invalid("The collection Dimensions must not have more than 30 members.")
	case c.Statistic == "" && c.ExtendedStatistic == "":
		return &Error{Kind: ErrMissingParameter, Message: "Either the parameter Statistic or ExtendedStatistic is required."}
	case c.Statistic != "" && c.ExtendedStatistic != "":
		return &Error{Kind: ErrInvalidCombination, Message: "Exactly one of the parameters Statistic and ExtendedStatistic must be set."}
	case c.Statistic != "" && !ValidStatistic(c.Statistic):
		return invalid("The value %s for parameter Statistic is not one of SampleCount, Average, Sum, Minimum, Maximum.", c.Statistic)
	case c.Period == 0:
		return missing("Period")
	case c.Period < 60 || c.Period%60 != 0:
		return invalid("The parameter Period must be a multiple of 60 (cairn keeps 1-minute resolution; 10, 20 and 30 s periods are not supported), got %d.", c.Period)
	case !ValidUnit(c.Unit):
		return invalid("The value %s for parameter Unit is not a CloudWatch standard unit.", c.Unit)
	case c.EvaluationPeriods < 1:
		return invalid("The parameter EvaluationPeriods must be at least 1.")
	case c.DatapointsToAlarm < 0 || c.DatapointsToAlarm > c.EvaluationPeriods:
		return invalid("The parameter DatapointsToAlarm must be between 1 and EvaluationPeriods (%d), got %d.", c.EvaluationPeriods, c.DatapointsToAlarm)
	case c.Period*c.EvaluationPeriods > 604800 || (c.Period < 3600 && c.Period*c.EvaluationPeriods > 86400):
		return invalid("The evaluation period (Period × EvaluationPeriods = %d s) must not exceed 1 day for periods under an hour and 7 days otherwise.", c.Period*c.EvaluationPeriods)
	case math.IsNaN(c.Threshold) || math.IsInf(c.Threshold, 0):
		return invalid("The parameter Threshold must be a finite number.")
	case c.ComparisonOperator == "":
		return missing("ComparisonOperator")
	case !contains(treatments, c.Treatment()):
		return invalid("The value %s for parameter TreatMissingData is not one of missing, notBreaching, breaching, ignore.", c.TreatMissingData)
	case c.EvaluateLowSampleCountPercentile != "" && c.EvaluateLowSampleCountPercentile != "evaluate" && c.EvaluateLowSampleCountPercentile != "ignore":
		return invalid("The value %s for parameter EvaluateLowSampleCountPercentile is not one of evaluate, ignore.", c.EvaluateLowSampleCountPercentile)
	}
	if c.ExtendedStatistic != "" {
		if _, ok := ParsePercentile(c.ExtendedStatistic); !ok {
			return invalid("The value %s for parameter ExtendedStatistic is not supported: cairn computes percentiles pNN and pNN.NN (trimmed and windowed statistics are not supported).", c.ExtendedStatistic)
		}
	}
	if c.EvaluateLowSampleCountPercentile != "" && c.ExtendedStatistic == "" {
		return &Error{Kind: ErrInvalidCombination, Message: "The parameter EvaluateLowSampleCountPercentile applies only with a percentile ExtendedStatistic."}
	}
	if _, ok := comparisons[c.ComparisonOperator]; !ok {
		if strings.Contains(c.ComparisonOperator, "LowerThreshold") || strings.Contains(c.ComparisonOperator, "UpperThreshold") {
			return invalid("The value %s for parameter ComparisonOperator applies only to anomaly detection alarms, which cairn does not support.", c.ComparisonOperator)
		}
		return invalid("The value %s for parameter ComparisonOperator is not one of GreaterThanOrEqualToThreshold, GreaterThanThreshold, LessThanThreshold, LessThanOrEqualToThreshold.", c.ComparisonOperator)
	}
	for _, d := range c.Dimensions {
		if err := validDimension(d); err != nil {
			return err
		}
	}
	for _, l := range []struct {
		member string
		arns   []string
	}{{"OKActions", c.OKActions}, {"AlarmActions", c.AlarmActions}, {"InsufficientDataActions", c.InsufficientDataActions}} {
		if len(l.arns) > 5 {
			return invalid("The collection %s must not have more than 5 members.", l.member)
		}
		for _, arn := range l.arns {
			if !strings.HasPrefix(arn, "arn:") || len(arn) > 1024 {
				return invalid("The value %s for parameter %s is not a valid ARN.", arn, l.member)
			}
		}
	}
	return nil
}

func validDimension(d Dimension) error {
	switch {
	case d.Name == "":
		return missing("Dimensions.member.N.Name")
	case d.Value == "":
		return missing("Dimensions.member.N.Value")
	case len(d.Name) > 255 || len(d.Value) > 1024:
		return invalid("The dimension %s is too long: names are at most 255 characters, values at most 1024.", d.Name)
	}
	return nil
}

// Breaches reports whether value breaches the threshold: value <op> threshold.
func (c *AlarmConfig) Breaches(v float64) bool {
	switch c.ComparisonOperator {
	case "GreaterThanOrEqualToThreshold":
		return v >= c.Threshold
	case "GreaterThanThreshold":
		return v > c.Threshold
	case "LessThanThreshold":
		return v < c.Threshold
	case "LessThanOrEqualToThreshold":
		return v <= c.Threshold
	}
	return false
}
