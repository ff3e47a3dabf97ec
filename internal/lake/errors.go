package lake

import (
	"errors"
	"fmt"
)

// The kinds of refusal, one per AWS exception; errors wrap them in *Error. internal/api maps each
// kind to its exception name.
var (
	ErrInvalidParameter         = errors.New("invalid parameter")
	ErrStoreNotFound            = errors.New("event data store not found")
	ErrStoreARNInvalid          = errors.New("event data store ARN invalid")
	ErrStoreAlreadyExists       = errors.New("event data store already exists")
	ErrStoreMaxLimit            = errors.New("event data store limit exceeded")
	ErrInvalidSelectors         = errors.New("invalid event selectors")
	ErrTerminationProtected     = errors.New("termination protection enabled")
	ErrInvalidStoreStatus       = errors.New("invalid event data store status")
	ErrInactiveStore            = errors.New("event data store inactive")
	ErrInvalidStoreCategory     = errors.New("invalid event data store category")
	ErrChannelExistsForStore    = errors.New("channel exists for event data store")
	ErrInvalidKmsKeyID          = errors.New("invalid KMS key ID")
	ErrKms                      = errors.New("KMS key unusable")
	ErrNotOrganizationMaster    = errors.New("not the organization's management account")
	ErrInvalidTag               = errors.New("invalid tag parameter")
	ErrTagsLimit                = errors.New("tags limit exceeded")
	ErrResourceNotFound         = errors.New("resource not found")
	ErrResourceTypeNotSupported = errors.New("resource type not supported")
	ErrInvalidMaxResults        = errors.New("invalid max results")
	ErrInvalidNextToken         = errors.New("invalid next token")

	ErrInvalidQuery       = errors.New("invalid query statement")
	ErrQueryNotFound      = errors.New("query not found")
	ErrMaxConcurrent      = errors.New("max concurrent queries")
	ErrInactiveQuery      = errors.New("query inactive")
	ErrInvalidDateRange   = errors.New("invalid date range")
	ErrInvalidQueryStatus = errors.New("invalid query status")

	ErrChannelNotFound      = errors.New("channel not found")
	ErrChannelARNInvalid    = errors.New("channel ARN invalid")
	ErrChannelAlreadyExists = errors.New("channel already exists")
	ErrChannelMaxLimit      = errors.New("channel limit exceeded")
	ErrInvalidSource        = errors.New("invalid source")

	// PutAuditEvents (cloudtrail-data) request errors.
	ErrInvalidChannelARN             = errors.New("invalid channel ARN")
	ErrChannelInsufficientPermission = errors.New("channel insufficient permission")
	ErrDuplicatedAuditEventID        = errors.New("duplicated audit event ID")
)

// Error is a request Lake refuses: Kind says which rule, Message says what was wrong.
type Error struct {
	Kind    error
	Message string
}

func (e *Error) Error() string { return e.Message }
func (e *Error) Unwrap() error { return e.Kind }

func fail(kind error, format string, args ...any) error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// exceptions names the AWS exception of each kind of refusal.
var exceptions = map[error]string{
	ErrInvalidParameter:         "InvalidParameterException",
	ErrStoreNotFound:            "EventDataStoreNotFoundException",
	ErrStoreARNInvalid:          "EventDataStoreARNInvalidException",
	ErrStoreAlreadyExists:       "EventDataStoreAlreadyExistsException",
	ErrStoreMaxLimit:            "EventDataStoreMaxLimitExceededException",
	ErrInvalidSelectors:         "InvalidEventSelectorsException",
	ErrTerminationProtected:     "EventDataStoreTerminationProtectedException",
	ErrInvalidStoreStatus:       "InvalidEventDataStoreStatusException",
	ErrInactiveStore:            "InactiveEventDataStoreException",
	ErrInvalidStoreCategory:     "InvalidEventDataStoreCategoryException",
	ErrChannelExistsForStore:    "ChannelExistsForEDSException",
	ErrInvalidKmsKeyID:          "InvalidKmsKeyIdException",
	ErrKms:                      "KmsException",
	ErrNotOrganizationMaster:    "NotOrganizationMasterAccountException",
	ErrInvalidTag:               "InvalidTagParameterException",
	ErrTagsLimit:                "TagsLimitExceededException",
	ErrResourceNotFound:         "ResourceNotFoundException",
	ErrResourceTypeNotSupported: "ResourceTypeNotSupportedException",
	ErrInvalidMaxResults:        "InvalidMaxResultsException",
	ErrInvalidNextToken:         "InvalidNextTokenException",
	ErrInvalidQuery:             "InvalidQueryStatementException",
	ErrQueryNotFound:            "QueryIdNotFoundException",
	ErrMaxConcurrent:            "MaxConcurrentQueriesException",
	ErrInactiveQuery:            "InactiveQueryException",
	ErrInvalidDateRange:         "InvalidDateRangeException",
	ErrInvalidQueryStatus:       "InvalidQueryStatusException",
	ErrChannelNotFound:          "ChannelNotFoundException",
	ErrChannelARNInvalid:        "ChannelARNInvalidException",
	ErrChannelAlreadyExists:     "ChannelAlreadyExistsException",
	ErrChannelMaxLimit:          "ChannelMaxLimitExceededException",
	ErrInvalidSource:            "InvalidSourceException",
	// cloudtrail-data (PutAuditEvents) names its exceptions without the suffix.
	ErrInvalidChannelARN:             "InvalidChannelARN",
	ErrChannelInsufficientPermission: "ChannelInsufficientPermission",
	ErrDuplicatedAuditEventID:        "DuplicatedAuditEventId",
}

// Exception returns the AWS exception name and message of a Lake refusal; ok is false for any
// other error (cairn's own failure). The API answers with them, and the console records its
// changes with them.
func Exception(err error) (code, message string, ok bool) {
	var le *Error
	if !errors.As(err, &le) {
		return "", "", false
	}
	code, ok = exceptions[le.Kind]
	return code, le.Message, ok
}
