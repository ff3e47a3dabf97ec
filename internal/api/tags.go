package api

import (
	"github.com/cairn-dev/cairn/internal/lake"
	"github.com/cairn-dev/cairn/internal/trail"
)

// AddTags, RemoveTags and ListTags take the ARNs of trails, event data stores and channels;
// each ARN goes to the feature that owns its resource.
func (s *Server) tagOperations() map[string]operation {
	return map[string]operation{
		"AddTags":    s.addTags,
		"RemoveTags": s.removeTags,
		"ListTags":   s.listTags,
	}
}

type tagsInput struct {
	ResourceId string
	TagsList   []tagShape
}

// lakeResource reports whether arn names an event data store or a channel.
func (s *Server) lakeResource(arn string) bool { return s.cfg.Lake != nil && lake.Tagged(arn) }

func lakeTags(in []tagShape) []lake.Tag {
	out := make([]lake.Tag, len(in))
	for i, t := range in {
		out[i] = lake.Tag{Key: t.Key, Value: t.Value}
	}
	return out
}

func (s *Server) addTags(c *call) {
	var in tagsInput
	if !s.decode(c, &in) {
		return
	}
	if s.lakeResource(in.ResourceId) {
		if err := s.cfg.Lake.AddTags(c.r.Context(), c.lakeCaller(), in.ResourceId, lakeTags(in.TagsList)); err != nil {
			s.lakeFail(c, err, jsonError)
			return
		}
		s.reply(c, struct{}{})
		return
	}
	t, err := s.taggedTrail(c, in.ResourceId)
	if err == nil {
		err = s.cfg.Trails.AddTags(c.r.Context(), t.ARN, toTags(in.TagsList))
	}
	if err != nil {
		s.trailError(c, err)
		return
	}
	s.reply(c, struct{}{})
}

func (s *Server) removeTags(c *call) {
	var in tagsInput
	if !s.decode(c, &in) {
		return
	}
	if s.lakeResource(in.ResourceId) {
		if err := s.cfg.Lake.RemoveTags(c.r.Context(), c.lakeCaller(), in.ResourceId, lakeTags(in.TagsList)); err != nil {
			s.lakeFail(c, err, jsonError)
			return
		}
		s.reply(c, struct{}{})
		return
	}
	t, err := s.taggedTrail(c, in.ResourceId)
	if err == nil {
		err = s.cfg.Trails.RemoveTags(c.r.Context(), t.ARN, toTags(in.TagsList))
	}
	if err != nil {
		s.trailError(c, err)
		return
	}
	s.reply(c, struct{}{})
}

func (s *Server) listTags(c *call) {
	var in struct {
		ResourceIdList []string
		NextToken      string
	}
	if !s.decode(c, &in) {
		return
	}
	if len(in.ResourceIdList) == 0 {
		s.trailError(c, &trail.Error{Kind: trail.ErrInvalidParameter, Message: "ResourceIdList must name at least one resource."})
		return
	}
	type resourceTag struct {
		ResourceId string
		TagsList   []tagShape
	}
	out := struct{ ResourceTagList []resourceTag }{ResourceTagList: []resourceTag{}}
	for _, id := range in.ResourceIdList {
		rt := resourceTag{ResourceId: id, TagsList: []tagShape{}}
		if s.lakeResource(id) {
			tags, err := s.cfg.Lake.ListTags(c.r.Context(), c.lakeCaller(), id)
			if err != nil {
				s.lakeFail(c, err, jsonError)
				return
			}
			for _, tag := range tags {
				rt.TagsList = append(rt.TagsList, tagShape{tag.Key, tag.Value})
			}
		} else {
			t, err := s.taggedTrail(c, id)
			var tags []trail.Tag
			if err == nil {
				tags, err = s.cfg.Trails.Tags(c.r.Context(), t.ARN)
			}
			if err != nil {
				s.trailError(c, err)
				return
			}
			for _, tag := range tags {
				rt.TagsList = append(rt.TagsList, tagShape{tag.Key, tag.Value})
			}
		}
		out.ResourceTagList = append(out.ResourceTagList, rt)
	}
	s.reply(c, out)
}
