package api

import (
	"github.com/cairn-dev/cairn/internal/api/awsproto"
	"github.com/cairn-dev/cairn/internal/lake"
)

type channelRef struct{ Channel string }

func (s *Server) createChannel(c *call) {
	var in struct {
		Name         string
		Source       string
		Destinations []lake.Destination
		Tags         []lake.Tag
	}
	if !s.decode(c, &in) {
		return
	}
	ch, err := s.cfg.Lake.CreateChannel(c.r.Context(), c.lakeCaller(), in.Name, in.Source, in.Destinations, in.Tags)
	if err != nil {
		s.lakeFail(c, err, jsonError)
		return
	}
	s.reply(c, struct {
		ChannelArn   string
		Name         string
		Source       string
		Destinations []lake.Destination
		Tags         []lake.Tag `json:",omitempty"`
	}{ch.ARN(), ch.Name, ch.Source, ch.Destinations, in.Tags})
}

func (s *Server) getChannel(c *call) {
	var in channelRef
	if !s.decode(c, &in) {
		return
	}
	ch, err := s.cfg.Lake.GetChannel(c.lakeCaller(), in.Channel)
	if err != nil {
		s.lakeFail(c, err, jsonError)
		return
	}
	type ingestion struct {
		LatestIngestionSuccessTime    *awsproto.Timestamp `json:",omitempty"`
		LatestIngestionSuccessEventID string              `json:",omitempty"`
		LatestIngestionErrorCode      string              `json:",omitempty"`
		LatestIngestionAttemptTime    *awsproto.Timestamp `json:",omitempty"`
		LatestIngestionAttemptEventID string              `json:",omitempty"`
	}
	st := ch.Ingestion
	s.reply(c, struct {
		ChannelArn      string
		Name            string
		Source          string
		Destinations    []lake.Destination
		IngestionStatus ingestion
	}{ch.ARN(), ch.Name, ch.Source, ch.Destinations, ingestion{optTimestamp(st.LatestSuccess), st.LatestSuccessEventID, st.LatestErrorCode,
		optTimestamp(st.LatestAttempt), st.LatestAttemptEventID}})
}

func (s *Server) listChannels(c *call) {
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
	chans, next, err := s.cfg.Lake.ListChannels(c.lakeCaller(), max, in.NextToken)
	if err != nil {
		s.lakeFail(c, err, jsonError)
		return
	}
	type item struct{ ChannelArn, Name string }
	out := struct {
		Channels  []item
		NextToken string `json:",omitempty"`
	}{Channels: []item{}, NextToken: next}
	for _, ch := range chans {
		out.Channels = append(out.Channels, item{ch.ARN(), ch.Name})
	}
	s.reply(c, out)
}

func (s *Server) updateChannel(c *call) {
	var in struct {
		Channel      string
		Destinations []lake.Destination
		Name         string
	}
	if !s.decode(c, &in) {
		return
	}
	ch, err := s.cfg.Lake.UpdateChannel(c.r.Context(), c.lakeCaller(), in.Channel, in.Name, in.Destinations)
	if err != nil {
		s.lakeFail(c, err, jsonError)
		return
	}
	s.reply(c, struct {
		ChannelArn   string
		Name         string
		Source       string
		Destinations []lake.Destination
	}{ch.ARN(), ch.Name, ch.Source, ch.Destinations})
}

func (s *Server) deleteChannel(c *call) {
	var in channelRef
	if !s.decode(c, &in) {
		return
	}
	if err := s.cfg.Lake.DeleteChannel(c.r.Context(), c.lakeCaller(), in.Channel); err != nil {
		s.lakeFail(c, err, jsonError)
		return
	}
	s.reply(c, struct{}{})
}
