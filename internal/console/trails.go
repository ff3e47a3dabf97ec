package console

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/cairn-dev/cairn/internal/trail"
)

// Trail pages change trails through trail.Manager, the code path of the API's operations, so
// validation and side effects (buckets, digest chains, final delivery) are the same.

type trailRow struct {
	T      *trail.Trail
	Status trail.Status
}

func (c *Console) trails(w http.ResponseWriter, r *http.Request) {
	s := sessionFrom(r)
	ts, err := c.cfg.Trails.Store.ByAccount(r.Context(), s.Principal.AccountID)
	if err != nil {
		c.internal(w, r, "list trails", err)
		return
	}
	var rows []trailRow
	for _, t := range ts {
		st, err := c.cfg.Trails.Store.Status(r.Context(), t.ARN)
		if err != nil {
			c.internal(w, r, "read trail status", err)
			return
		}
		rows = append(rows, trailRow{T: t, Status: st})
	}
	c.render(w, r, http.StatusOK, "trails", "Trails", page{Flash: r.URL.Query().Get("done"), Data: rows})
}

// trailFormData is the create/edit form, as submitted (so a rejected form keeps what was typed).
type trailFormData struct {
	New                             bool
	Name, Bucket, Prefix, Topic     string
	LogGroup, LogsRole, KMSKey      string
	MultiRegion, Global, Validation bool
	Logging                         bool
	ARN, HomeRegion                 string
}

func formOf(t *trail.Trail) trailFormData {
	return trailFormData{Name: t.Name, Bucket: t.S3BucketName, Prefix: t.S3KeyPrefix, Topic: t.SnsTopicName,
		LogGroup: t.CloudWatchLogsLogGroupArn, LogsRole: t.CloudWatchLogsRoleArn, KMSKey: t.KmsKeyID,
		MultiRegion: t.IsMultiRegionTrail, Global: t.IncludeGlobalServiceEvents, Validation: t.LogFileValidationEnabled,
		Logging: t.IsLogging(), ARN: t.ARN, HomeRegion: t.HomeRegion}
}

func (c *Console) trailForm(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if name == "" {
		c.render(w, r, http.StatusOK, "trail", "Create trail", page{Data: trailFormData{New: true, MultiRegion: true, Global: true, Validation: true, Logging: true}})
		return
	}
	s := sessionFrom(r)
	t, err := c.cfg.Trails.Store.Resolve(r.Context(), s.Principal.AccountID, s.Region, name, false)
	if err != nil {
		c.trailError(w, r, err)
		return
	}
	c.render(w, r, http.StatusOK, "trail", "Trail "+t.Name, page{Data: formOf(t)})
}

func parseTrailForm(r *http.Request) (trailFormData, trail.Settings) {
	f := trailFormData{
		Name: strings.TrimSpace(r.PostFormValue("name")), Bucket: strings.TrimSpace(r.PostFormValue("bucket")),
		Prefix: strings.TrimSpace(r.PostFormValue("prefix")), Topic: strings.TrimSpace(r.PostFormValue("topic")),
		LogGroup: strings.TrimSpace(r.PostFormValue("loggroup")), LogsRole: strings.TrimSpace(r.PostFormValue("logsrole")),
		KMSKey: strings.TrimSpace(r.PostFormValue("kms")), MultiRegion: r.PostFormValue("multiregion") == "on",
		Global: r.PostFormValue("global") == "on", Validation: r.PostFormValue("validation") == "on",
		Logging: r.PostFormValue("logging") == "on",
	}
	in := trail.Settings{Name: f.Name, S3BucketName: &f.Bucket, S3KeyPrefix: &f.Prefix, SnsTopicName: &f.Topic,
		IncludeGlobalServiceEvents: &f.Global, IsMultiRegionTrail: &f.MultiRegion, EnableLogFileValidation: &f.Validation,
		CloudWatchLogsLogGroupArn: &f.LogGroup, CloudWatchLogsRoleArn: &f.LogsRole, KmsKeyID: &f.KMSKey}
	return f, in
}

func (c *Console) createTrail(w http.ResponseWriter, r *http.Request) {
	s := sessionFrom(r)
	f, in := parseTrailForm(r)
	f.New = true
	var t *trail.Trail
	err := c.change(r, cloudtrailSource, "CreateTrail", trailARN(r, f.Name), in, func() (_ any, err error) {
		t, err = c.cfg.Trails.Create(r.Context(), s.Principal.AccountID, s.Region, in, nil)
		return t, err
	})
	if err == nil && f.Logging {
		// As AWS's console does: a trail created there starts logging at once.
		err = c.change(r, cloudtrailSource, "StartLogging", t.ARN, map[string]string{"name": t.ARN}, func() (any, error) {
			return nil, c.cfg.Trails.SetLogging(r.Context(), s.Principal.AccountID, s.Region, t.ARN, true)
		})
	}
	if err != nil {
		c.trailFormError(w, r, f, err)
		return
	}
	http.Redirect(w, r, Prefix+"trails?done="+urlQueryEscape("Created trail "+t.Name+"."), http.StatusSeeOther)
}

func (c *Console) updateTrail(w http.ResponseWriter, r *http.Request) {
	s := sessionFrom(r)
	f, in := parseTrailForm(r)
	f.Name, in.Name = r.PathValue("name"), r.PathValue("name")
	var t *trail.Trail
	err := c.change(r, cloudtrailSource, "UpdateTrail", trailARN(r, f.Name), in, func() (_ any, err error) {
		t, err = c.cfg.Trails.Update(r.Context(), s.Principal.AccountID, s.Region, in)
		return t, err
	})
	if err != nil {
		c.trailFormError(w, r, f, err)
		return
	}
	http.Redirect(w, r, Prefix+"trails?done="+urlQueryEscape("Saved trail "+t.Name+"."), http.StatusSeeOther)
}

func (c *Console) deleteTrail(w http.ResponseWriter, r *http.Request) {
	s := sessionFrom(r)
	name := r.PathValue("name")
	err := c.change(r, cloudtrailSource, "DeleteTrail", trailARN(r, name), map[string]string{"name": name}, func() (any, error) {
		return nil, c.cfg.Trails.Delete(r.Context(), s.Principal.AccountID, s.Region, name)
	})
	if err != nil {
		c.trailError(w, r, err)
		return
	}
	http.Redirect(w, r, Prefix+"trails?done="+urlQueryEscape("Deleted trail "+name+"."), http.StatusSeeOther)
}

func (c *Console) setLogging(w http.ResponseWriter, r *http.Request) {
	s := sessionFrom(r)
	name, on := r.PathValue("name"), r.PostFormValue("logging") == "on"
	op := map[bool]string{true: "StartLogging", false: "StopLogging"}[on]
	err := c.change(r, cloudtrailSource, op, trailARN(r, name), map[string]string{"name": name}, func() (any, error) {
		return nil, c.cfg.Trails.SetLogging(r.Context(), s.Principal.AccountID, s.Region, name, on)
	})
	if err != nil {
		c.trailError(w, r, err)
		return
	}
	verb := map[bool]string{true: "Started", false: "Stopped"}[on]
	http.Redirect(w, r, Prefix+"trails?done="+urlQueryEscape(fmt.Sprintf("%s logging for trail %s.", verb, name)), http.StatusSeeOther)
}

// trailARN is the ARN of the trail the console names, in the user's account and region; a name
// that is an ARN already is kept.
func trailARN(r *http.Request, name string) string {
	if strings.HasPrefix(name, "arn:") {
		return name
	}
	return arn(r, "cloudtrail", "trail/"+name)
}

// trailFormError shows the form again with what was typed and the API's message.
func (c *Console) trailFormError(w http.ResponseWriter, r *http.Request, f trailFormData, err error) {
	var te *trail.Error
	if !errors.As(err, &te) {
		c.internal(w, r, "change the trail", err)
		return
	}
	title := "Create trail"
	if !f.New {
		title = "Trail " + f.Name
	}
	c.render(w, r, http.StatusBadRequest, "trail", title, page{Error: te.Message, Data: f})
}

func (c *Console) trailError(w http.ResponseWriter, r *http.Request, err error) {
	var te *trail.Error
	if errors.As(err, &te) {
		status := http.StatusBadRequest
		if errors.Is(err, trail.ErrNotFound) {
			status = http.StatusNotFound
		}
		c.fail(w, r, status, te.Message)
		return
	}
	c.internal(w, r, "change the trail", err)
}
