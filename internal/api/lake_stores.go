package api

import (
	"time"

	"github.com/cairn-dev/cairn/internal/api/awsproto"
	"github.com/cairn-dev/cairn/internal/lake"
)

// eventDataStore is the EventDataStore shape of Create, Get, Update and Restore responses.
type eventDataStore struct {
	EventDataStoreArn            string
	Name                         string
	Status                       string
	AdvancedEventSelectors       []lake.Selector
	MultiRegionEnabled           bool
	OrganizationEnabled          bool
	RetentionPeriod              int
	TerminationProtectionEnabled bool
	TagsList                     []lake.Tag `json:",omitempty"`
	CreatedTimestamp             awsproto.Timestamp
	UpdatedTimestamp             awsproto.Timestamp
	KmsKeyId                     string `json:",omitempty"`
	BillingMode                  string
	FederationStatus             string `json:",omitempty"`
}

func toEventDataStore(s *lake.Store) eventDataStore {
	return eventDataStore{
		EventDataStoreArn: s.ARN(), Name: s.Name, Status: s.Status, AdvancedEventSelectors: s.Selectors,
		MultiRegionEnabled: s.MultiRegion, OrganizationEnabled: s.Organization, RetentionPeriod: s.RetentionDays,
		TerminationProtectionEnabled: s.TerminationProtection, CreatedTimestamp: awsproto.Timestamp{Time: s.Created},
		UpdatedTimestamp: awsproto.Timestamp{Time: s.Updated}, KmsKeyId: s.KmsKeyID, BillingMode: s.BillingMode,
	}
}

type storeRef struct{ EventDataStore string }

func (s *Server) createEventDataStore(c *call) {
	var in struct {
		Name                         string
		AdvancedEventSelectors       []lake.Selector
		MultiRegionEnabled           *bool
		OrganizationEnabled          *bool
		RetentionPeriod              *int
		TerminationProtectionEnabled *bool
		TagsList                     []lake.Tag
		KmsKeyId                     string
		StartIngestion               *bool
		BillingMode                  string
	}
	if !s.decode(c, &in) {
		return
	}
	st, err := s.cfg.Lake.CreateStore(c.r.Context(), c.lakeCaller(), lake.CreateInput{
		Name: in.Name, Selectors: in.AdvancedEventSelectors, MultiRegion: in.MultiRegionEnabled, Organization: in.OrganizationEnabled,
		RetentionDays: in.RetentionPeriod, TerminationProtection: in.TerminationProtectionEnabled, StartIngestion: in.StartIngestion,
		KmsKeyID: in.KmsKeyId, BillingMode: in.BillingMode, Tags: in.TagsList,
	})
	if err != nil {
		s.lakeFail(c, err, jsonError)
		return
	}
	out := toEventDataStore(st)
	out.TagsList = in.TagsList
	if st.Status == lake.StatusEnabled {
		out.Status = lake.StatusCreated // what CreateEventDataStore answers; the store is ENABLED at once
	}
	s.reply(c, out)
}

func (s *Server) getEventDataStore(c *call) {
	var in storeRef
	if !s.decode(c, &in) {
		return
	}
	st, err := s.cfg.Lake.GetStore(c.lakeCaller(), in.EventDataStore)
	if err != nil {
		s.lakeFail(c, err, jsonError)
		return
	}
	out := toEventDataStore(st)
	out.FederationStatus = "DISABLED"
	s.reply(c, out)
}

func (s *Server) listEventDataStores(c *call) {
	var in struct {
		MaxResults *int
		NextToken  string
	}
	if !s.decode(c, &in) {
		return
	}
	max := 0
	if in.MaxResults != nil {
		if *in.MaxResults == 0 {
			c.fail(awsproto.Errorf("InvalidMaxResultsException", "MaxResults 0 is out of range: it must be between 1 and 1000."), jsonError)
			return
		}
		max = *in.MaxResults
	}
	stores, next, err := s.cfg.Lake.ListStores(c.lakeCaller(), max, in.NextToken)
	if err != nil {
		s.lakeFail(c, err, jsonError)
		return
	}
	type item struct {
		EventDataStoreArn            string
		Name                         string
		TerminationProtectionEnabled bool
		Status                       string
		AdvancedEventSelectors       []lake.Selector
		MultiRegionEnabled           bool
		OrganizationEnabled          bool
		RetentionPeriod              int
		CreatedTimestamp             awsproto.Timestamp
		UpdatedTimestamp             awsproto.Timestamp
	}
	out := struct {
		EventDataStores []item
		NextToken       string `json:",omitempty"`
	}{EventDataStores: []item{}, NextToken: next}
	for _, st := range stores {
		out.EventDataStores = append(out.EventDataStores, item{st.ARN(), st.Name, st.TerminationProtection, st.Status, st.Selectors,
			st.MultiRegion, st.Organization, st.RetentionDays, awsproto.Timestamp{Time: st.Created}, awsproto.Timestamp{Time: st.Updated}})
	}
	s.reply(c, out)
}

func (s *Server) updateEventDataStore(c *call) {
	var in struct {
		EventDataStore               string
		Name                         string
		AdvancedEventSelectors       []lake.Selector
		MultiRegionEnabled           *bool
		OrganizationEnabled          *bool
		RetentionPeriod              *int
		TerminationProtectionEnabled *bool
		KmsKeyId                     string
		BillingMode                  string
	}
	if !s.decode(c, &in) {
		return
	}
	st, err := s.cfg.Lake.UpdateStore(c.r.Context(), c.lakeCaller(), in.EventDataStore, lake.UpdateInput{
		Name: in.Name, Selectors: in.AdvancedEventSelectors, MultiRegion: in.MultiRegionEnabled, Organization: in.OrganizationEnabled,
		RetentionDays: in.RetentionPeriod, TerminationProtection: in.TerminationProtectionEnabled, KmsKeyID: in.KmsKeyId, BillingMode: in.BillingMode,
	})
	if err != nil {
		s.lakeFail(c, err, jsonError)
		return
	}
	out := toEventDataStore(st)
	out.FederationStatus = "DISABLED"
	s.reply(c, out)
}

func (s *Server) deleteEventDataStore(c *call) {
	var in storeRef
	if !s.decode(c, &in) {
		return
	}
	if err := s.cfg.Lake.DeleteStore(c.r.Context(), c.lakeCaller(), in.EventDataStore); err != nil {
		s.lakeFail(c, err, jsonError)
		return
	}
	s.reply(c, struct{}{})
}

func (s *Server) restoreEventDataStore(c *call) {
	var in storeRef
	if !s.decode(c, &in) {
		return
	}
	st, err := s.cfg.Lake.RestoreStore(c.r.Context(), c.lakeCaller(), in.EventDataStore)
	if err != nil {
		s.lakeFail(c, err, jsonError)
		return
	}
	s.reply(c, toEventDataStore(st))
}

func (s *Server) startEventDataStoreIngestion(c *call) {
	var in storeRef
	if !s.decode(c, &in) {
		return
	}
	if err := s.cfg.Lake.StartIngestion(c.r.Context(), c.lakeCaller(), in.EventDataStore); err != nil {
		s.lakeFail(c, err, jsonError)
		return
	}
	s.reply(c, struct{}{})
}

func (s *Server) stopEventDataStoreIngestion(c *call) {
	var in storeRef
	if !s.decode(c, &in) {
		return
	}
	if err := s.cfg.Lake.StopIngestion(c.r.Context(), c.lakeCaller(), in.EventDataStore); err != nil {
		s.lakeFail(c, err, jsonError)
		return
	}
	s.reply(c, struct{}{})
}

func optTimestamp(t time.Time) *awsproto.Timestamp {
	if t.IsZero() {
		return nil
	}
	return &awsproto.Timestamp{Time: t}
}
