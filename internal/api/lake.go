package api

import (
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

// lakeFail reports a Lake error in the operation's protocol.
func (s *Server) lakeFail(c *call, err error, write errorWriter) {
	if code, msg, ok := lake.Exception(err); ok {
		c.fail(awsproto.Errorf(code, "%s", msg), write)
		return
	}
	s.cfg.Logger.Error("lake operation failed", "request", c.id, "operation", c.op, "err", err)
	c.fail(awsproto.Internal(c.id), write)
}
