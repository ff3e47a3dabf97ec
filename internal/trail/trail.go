// Package trail is CloudTrail's trails: their configuration and event selectors (evaluated on
// every event), which trail wants which event (Router, reused by every feature that follows
// trails), and delivery of log files and signed digests to object storage (Deliverer).
package trail

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// Error is a trail request the caller got wrong; Kind says which AWS exception it is.
type Error struct {
	Kind    error
	Message string
}

func (e *Error) Error() string { return e.Message }
func (e *Error) Unwrap() error { return e.Kind }

func errorf(kind error, format string, args ...any) error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// Kinds of Error, one per AWS exception the API maps them to.
var (
	ErrNotFound                 = errors.New("TrailNotFoundException")
	ErrAlreadyExists            = errors.New("TrailAlreadyExistsException")
	ErrInvalidName              = errors.New("InvalidTrailNameException")
	ErrMaxTrails                = errors.New("MaximumNumberOfTrailsExceededException")
	ErrInvalidCombination       = errors.New("InvalidParameterCombinationException")
	ErrInvalidParameter         = errors.New("InvalidParameterException")
	ErrInvalidHomeRegion        = errors.New("InvalidHomeRegionException")
	ErrBucketNotFound           = errors.New("S3BucketDoesNotExistException")
	ErrInvalidBucketName        = errors.New("InvalidS3BucketNameException")
	ErrInvalidPrefix            = errors.New("InvalidS3PrefixException")
	ErrInvalidSnsTopic          = errors.New("InvalidSnsTopicNameException")
	ErrInvalidLogGroupArn       = errors.New("InvalidCloudWatchLogsLogGroupArnException")
	ErrInvalidLogsRoleArn       = errors.New("InvalidCloudWatchLogsRoleArnException")
	ErrInvalidKmsKeyID          = errors.New("InvalidKmsKeyIdException")
	ErrInvalidEventSelectors    = errors.New("InvalidEventSelectorsException")
	ErrInvalidInsightSelectors  = errors.New("InvalidInsightSelectorsException")
	ErrInsightNotEnabled        = errors.New("InsightNotEnabledException")
	ErrInvalidARN               = errors.New("CloudTrailARNInvalidException")
	ErrInvalidTag               = errors.New("InvalidTagParameterException")
	ErrTagsLimit                = errors.New("TagsLimitExceededException")
	ErrResourceNotFound         = errors.New("ResourceNotFoundException")
	ErrNotOrganizationManager   = errors.New("NotOrganizationMasterAccountException")
	ErrOrganizationsNotInUse    = errors.New("OrganizationsNotInUseException")
	ErrInvalidTimeRange         = errors.New("InvalidTimeRangeException")
	ErrResourceTypeNotSupported = errors.New("ResourceTypeNotSupportedException")
)

// Trail is one trail's configuration.
type Trail struct {
	ARN        string `json:"-"`
	Name       string `json:"-"`
	Account    string `json:"-"`
	HomeRegion string `json:"-"`

	S3BucketName               string `json:"s3BucketName"`
	S3KeyPrefix                string `json:"s3KeyPrefix,omitempty"`
	SnsTopicName               string `json:"snsTopicName,omitempty"`
	IncludeGlobalServiceEvents bool   `json:"includeGlobalServiceEvents"`
	IsMultiRegionTrail         bool   `json:"isMultiRegionTrail"`
	LogFileValidationEnabled   bool   `json:"logFileValidationEnabled"`
	IsOrganizationTrail        bool   `json:"isOrganizationTrail"`
	CloudWatchLogsLogGroupArn  string `json:"cloudWatchLogsLogGroupArn,omitempty"`
	CloudWatchLogsRoleArn      string `json:"cloudWatchLogsRoleArn,omitempty"`
	KmsKeyID                   string `json:"kmsKeyId,omitempty"`
	// OrganizationID is the o-… of an organisation trail, fixed when it becomes one.
	OrganizationID string `json:"organizationId,omitempty"`

	// Exactly one of EventSelectors and AdvancedEventSelectors is set once PutEventSelectors
	// has been called; both nil means the default (all management events).
	EventSelectors         []EventSelector         `json:"eventSelectors,omitempty"`
	AdvancedEventSelectors []AdvancedEventSelector `json:"advancedEventSelectors,omitempty"`
	InsightSelectors       []InsightSelector       `json:"insightSelectors,omitempty"`

	Created time.Time `json:"-"`
	// Logging periods, oldest first; the last is open (zero Stop) while the trail logs.
	Logging []Period `json:"-"`
}

// Period is a time the trail was logging, by journal append time.
type Period struct{ Start, Stop time.Time }

// IsLogging reports whether the trail is logging now.
func (t *Trail) IsLogging() bool {
	return len(t.Logging) > 0 && t.Logging[len(t.Logging)-1].Stop.IsZero()
}

// LoggingAt reports whether the trail was logging at time at.
func (t *Trail) LoggingAt(at time.Time) bool {
	for i := len(t.Logging) - 1; i >= 0; i-- {
		p := t.Logging[i]
		if !at.Before(p.Start) && (p.Stop.IsZero() || at.Before(p.Stop)) {
			return true
		}
	}
	return false
}

// SnsTopicARN is the ARN of the trail's topic; SnsTopicName may be a name or an ARN.
func (t *Trail) SnsTopicARN() string {
	if t.SnsTopicName == "" || strings.HasPrefix(t.SnsTopicName, "arn:") {
		return t.SnsTopicName
	}
	return "arn:aws:sns:" + t.HomeRegion + ":" + t.Account + ":" + t.SnsTopicName
}

// HasCustomEventSelectors reports whether PutEventSelectors set selectors.
func (t *Trail) HasCustomEventSelectors() bool {
	return t.EventSelectors != nil || t.AdvancedEventSelectors != nil
}

// ARN returns a trail's ARN.
func ARN(region, account, name string) string {
	return "arn:aws:cloudtrail:" + region + ":" + account + ":trail/" + name
}

// ParseARN splits a trail ARN into region, account and name.
func ParseARN(arn string) (region, account, name string, err error) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "cloudtrail" || !strings.HasPrefix(parts[5], "trail/") ||
		!isAccount(parts[4]) || parts[3] == "" {
		return "", "", "", errorf(ErrInvalidARN, "%s is not a valid trail ARN: want arn:aws:cloudtrail:<region>:<account>:trail/<name>.", arn)
	}
	return parts[3], parts[4], strings.TrimPrefix(parts[5], "trail/"), nil
}

func isAccount(s string) bool {
	if len(s) != 12 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// CheckName applies CreateTrail's naming rules.
func CheckName(name string) error {
	switch {
	case len(name) < 3:
		return errorf(ErrInvalidName, "Trail name too short. Minimum allowed length: 3 characters. Specified name length: %d characters.", len(name))
	case len(name) > 128:
		return errorf(ErrInvalidName, "Trail name too long. Maximum allowed length: 128 characters. Specified name length: %d characters.", len(name))
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(isAlnum(c) || c == '.' || c == '_' || c == '-') {
			return errorf(ErrInvalidName, "Trail name %s is invalid: it may contain only letters, numbers, periods (.), underscores (_) and dashes (-).", name)
		}
		if i > 0 && !isAlnum(c) && !isAlnum(name[i-1]) {
			return errorf(ErrInvalidName, "Trail name %s is invalid: it must not have adjacent periods, underscores or dashes.", name)
		}
	}
	if !isAlnum(name[0]) || !isAlnum(name[len(name)-1]) {
		return errorf(ErrInvalidName, "Trail name %s is invalid: it must start and end with a letter or number.", name)
	}
	if _, err := netip.ParseAddr(name); err == nil {
		return errorf(ErrInvalidName, "Trail name %s is invalid: it must not be formatted as an IP address.", name)
	}
	return nil
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// Tag is a resource tag.
type Tag struct{ Key, Value string }

// CheckTags validates tags as AWS does.
func CheckTags(tags []Tag) error {
	seen := map[string]bool{}
	for _, t := range tags {
		if len(t.Key) < 1 || len(t.Key) > 128 {
			return errorf(ErrInvalidTag, "Tag key %q must be 1 to 128 characters long.", t.Key)
		}
		if len(t.Value) > 256 {
			return errorf(ErrInvalidTag, "The value of tag %s is longer than 256 characters.", t.Key)
		}
		if strings.HasPrefix(strings.ToLower(t.Key), "aws:") {
			return errorf(ErrInvalidTag, "Tag key %s uses the reserved prefix aws:.", t.Key)
		}
		if seen[t.Key] {
			return errorf(ErrInvalidTag, "Tag key %s appears more than once.", t.Key)
		}
		seen[t.Key] = true
	}
	return nil
}
