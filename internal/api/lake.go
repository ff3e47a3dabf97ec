package api

import (
	"errors"

	"github.com/cairn-dev/cairn/internal/api/awsproto"
	"github.com/cairn-dev/cairn/internal/lake"
)

// lakeOperations are CloudTrail Lake's operations: event data stores, queries and channels.
func (s *Server) lakeOperations() map[string]operation {
	if s.cfg.Lake == nil {
		return nil
	}
	return map[string]operation{
		"CreateEventDataStore":         s.createEventDataStore,
		"GetEventDataStore":            s.getEventDataStore,
		"ListEventDataStores":          s.listEventDataStores,
		"UpdateEventDataStore":         s.updateEventDataStore,
		"DeleteEventDataStore":         s.deleteEventDataStore,
		"RestoreEventDataStore":        s.restoreEventDataStore,
		"StartEventDataStoreIngestion": s.startEventDataStoreIngestion,
		"StopEventDataStoreIngestion":  s.stopEventDataStoreIngestion,
		"StartQuery":                   s.startQuery,
		"DescribeQuery":                s.describeQuery,
		"GetQueryResults":              s.getQueryResults,
		"CancelQuery":                  s.cancelQuery,
		"ListQueries":                  s.listQueries,
		"CreateChannel":                s.createChannel,
		"GetChannel":                   s.getChannel,
		"ListChannels":                 s.listChannels,
		"UpdateChannel":                s.updateChannel,
		"DeleteChannel":                s.deleteChannel,
		"AddTags":                      s.addTags,
		"RemoveTags":                   s.removeTags,
		"ListTags":                     s.listTags,
	}
}

func (c *call) lakeCaller() lake.Caller {
	return lake.Caller{Account: c.principal.AccountID, Region: c.auth.Region, Operator: c.principal.Operator}
}

// lakeExceptions names the AWS exception of each kind of Lake refusal.
var lakeExceptions = map[error]string{
	lake.ErrInvalidParameter:         "InvalidParameterException",
	lake.ErrStoreNotFound:            "EventDataStoreNotFoundException",
	lake.ErrStoreARNInvalid:          "EventDataStoreARNInvalidException",
	lake.ErrStoreAlreadyExists:       "EventDataStoreAlreadyExistsException",
	lake.ErrStoreMaxLimit:            "EventDataStoreMaxLimitExceededException",
	lake.ErrInvalidSelectors:         "InvalidEventSelectorsException",
	lake.ErrTerminationProtected:     "EventDataStoreTerminationProtectedException",
	lake.ErrInvalidStoreStatus:       "InvalidEventDataStoreStatusException",
	lake.ErrInactiveStore:            "InactiveEventDataStoreException",
	lake.ErrInvalidStoreCategory:     "InvalidEventDataStoreCategoryException",
	lake.ErrChannelExistsForStore:    "ChannelExistsForEDSException",
	lake.ErrInvalidKmsKeyID:          "InvalidKmsKeyIdException",
	lake.ErrKms:                      "KmsException",
	lake.ErrNotOrganizationMaster:    "NotOrganizationMasterAccountException",
	lake.ErrInvalidTag:               "InvalidTagParameterException",
	lake.ErrTagsLimit:                "TagsLimitExceededException",
	lake.ErrResourceNotFound:         "ResourceNotFoundException",
	lake.ErrResourceTypeNotSupported: "ResourceTypeNotSupportedException",
	lake.ErrInvalidMaxResults:        "InvalidMaxResultsException",
	lake.ErrInvalidNextToken:         "InvalidNextTokenException",
	lake.ErrInvalidQuery:             "InvalidQueryStatementException",
	lake.ErrQueryNotFound:            "QueryIdNotFoundException",
	lake.ErrMaxConcurrent:            "MaxConcurrentQueriesException",
	lake.ErrInactiveQuery:            "InactiveQueryException",
	lake.ErrInvalidDateRange:         "InvalidDateRangeException",
	lake.ErrInvalidQueryStatus:       "InvalidQueryStatusException",
	lake.ErrChannelNotFound:          "ChannelNotFoundException",
	lake.ErrChannelARNInvalid:        "ChannelARNInvalidException",
	lake.ErrChannelAlreadyExists:     "ChannelAlreadyExistsException",
	lake.ErrChannelMaxLimit:          "ChannelMaxLimitExceededException",
	lake.ErrInvalidSource:            "InvalidSourceException",
	// cloudtrail-data (PutAuditEvents) names its exceptions without the suffix.
	lake.ErrInvalidChannelARN:             "InvalidChannelARN",
	lake.ErrChannelInsufficientPermission: "ChannelInsufficientPermission",
	lake.ErrDuplicatedAuditEventID:        "DuplicatedAuditEventId",
}

// lakeFail reports a Lake error in the operation's protocol.
func (s *Server) lakeFail(c *call, err error, write errorWriter) {
	var le *lake.Error
	if errors.As(err, &le) {
		if code, ok := lakeExceptions[le.Kind]; ok {
			c.fail(awsproto.Errorf(code, "%s", le.Message), write)
			return
		}
	}
	s.cfg.Logger.Error("lake operation failed", "request", c.id, "operation", c.op, "err", err)
	c.fail(awsproto.Internal(c.id), write)
}
