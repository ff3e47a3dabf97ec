package api

import (
	"github.com/cairn-dev/cairn/internal/api/awsproto"
	"github.com/cairn-dev/cairn/internal/lake"
)

// AddTags, RemoveTags and ListTags take resource ARNs of several kinds. Event data stores and
// channels belong to the Lake; a feature owning other taggable resources (trails, dashboards)
// adds its ARNs here.

type tagsInput struct {
	ResourceId string
	TagsList   []lake.Tag
}

func (s *Server) tagged(c *call, arn string) bool {
	if arn == "" {
		c.fail(awsproto.Errorf("InvalidParameterException", "ResourceId is required."), jsonError)
		return false
	}
	if !lake.Tagged(arn) {
		c.fail(awsproto.Errorf("ResourceTypeNotSupportedException", "%s is not the ARN of a resource cairn tags (an event data store or a channel).", arn), jsonError)
		return false
	}
	return true
}

func (s *Server) addTags(c *call) {
	var in tagsInput
	if !c.decode(&in) || !s.tagged(c, in.ResourceId) {
		return
	}
	if err := s.cfg.Lake.AddTags(c.r.Context(), c.lakeCaller(), in.ResourceId, in.TagsList); err != nil {
		s.lakeFail(c, err, jsonError)
		return
	}
	s.reply(c, struct{}{})
}

func (s *Server) removeTags(c *call) {
	var in tagsInput
	if !c.decode(&in) || !s.tagged(c, in.ResourceId) {
		return
	}
	if err := s.cfg.Lake.RemoveTags(c.r.Context(), c.lakeCaller(), in.ResourceId, in.TagsList); err != nil {
		s.lakeFail(c, err, jsonError)
		return
	}
	s.reply(c, struct{}{})
}

func (s *Server) listTags(c *call) {
	var in struct {
		ResourceIdList []string
		NextToken      string
	}
	if !c.decode(&in) {
		return
	}
	if len(in.ResourceIdList) == 0 || len(in.ResourceIdList) > 20 {
		c.fail(awsproto.Errorf("InvalidParameterException", "ResourceIdList must name 1 to 20 resources."), jsonError)
		return
	}
	type resourceTag struct {
		ResourceId string
		TagsList   []lake.Tag
	}
	out := struct{ ResourceTagList []resourceTag }{ResourceTagList: []resourceTag{}}
	for _, arn := range in.ResourceIdList {
		if !s.tagged(c, arn) {
			return
		}
		tags, err := s.cfg.Lake.ListTags(c.r.Context(), c.lakeCaller(), arn)
		if err != nil {
			s.lakeFail(c, err, jsonError)
			return
		}
		out.ResourceTagList = append(out.ResourceTagList, resourceTag{arn, tags})
	}
	s.reply(c, out)
}
