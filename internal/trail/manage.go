package trail

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/cairn-dev/cairn/internal/objstore"
)

// Settings are what CreateTrail and UpdateTrail change, with the API's member names; nil means
// not given (unchanged on update).
type Settings struct {
	Name                       string
	S3BucketName               *string
	S3KeyPrefix                *string
	SnsTopicName               *string
	IncludeGlobalServiceEvents *bool
	IsMultiRegionTrail         *bool
	EnableLogFileValidation    *bool
	CloudWatchLogsLogGroupArn  *string
	CloudWatchLogsRoleArn      *string
	KmsKeyID                   *string `json:"KmsKeyId"`
	IsOrganizationTrail        *bool
}

// Manager carries out trail changes with the same validation and side effects whoever asks
// (the API, the console): bucket checks, digest chains started and ended, final delivery.
type Manager struct {
	Store         *Store
	Delivery      *Deliverer
	Objects       objstore.Store
	CreateBuckets bool            // a missing bucket is created instead of refused
	LogGroups     LogGroupChecker // nil: trails cannot feed log groups
	Now           func() time.Time
	Logger        *slog.Logger
}

// LogGroupChecker confirms that the log group a trail is to feed exists (internal/logs).
type LogGroupChecker interface {
	// CheckLogGroup returns nil when the group named by arn exists and belongs to account; an
	// *Error naming the problem when not.
	CheckLogGroup(ctx context.Context, account, arn string) error
}

func (m *Manager) now() time.Time {
	if m.Now == nil {
		return time.Now()
	}
	return m.Now()
}

func (m *Manager) logger() *slog.Logger {
	if m.Logger == nil {
		return slog.Default()
	}
	return m.Logger
}

// Create validates and stores a new trail in account, homed in region. It is not logging.
func (m *Manager) Create(ctx context.Context, account, region string, in Settings, tags []Tag) (*Trail, error) {
	if err := CheckName(in.Name); err != nil {
		return nil, err
	}
	if in.S3BucketName == nil || *in.S3BucketName == "" {
		return nil, errorf(ErrInvalidBucketName, "S3BucketName is required.")
	}
	t := &Trail{Name: in.Name, Account: account, HomeRegion: region, IncludeGlobalServiceEvents: true}
	if err := m.Apply(ctx, t, in); err != nil {
		return nil, err
	}
	if err := m.Store.Create(ctx, t, tags); err != nil {
		return nil, err
	}
	return t, nil
}

// Update changes a trail (by name or ARN, called from its home region). Turning log file
// validation off ends the digest chains with a final digest; turning it on starts them.
func (m *Manager) Update(ctx context.Context, account, region string, in Settings) (*Trail, error) {
	t, err := m.Store.Resolve(ctx, account, region, in.Name, true)
	if err != nil {
		return nil, err
	}
	validating := t.LogFileValidationEnabled
	if err := m.Apply(ctx, t, in); err != nil {
		return nil, err
	}
	if err := m.Store.Save(ctx, t); err != nil {
		return nil, err
	}
	switch now := m.now(); {
	case validating && !t.LogFileValidationEnabled:
		m.endChains(ctx, t, now)
	case !validating && t.LogFileValidationEnabled && t.IsLogging():
		if err := m.Store.StartChains(ctx, t, now); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// Delete stops a trail's logging (delivering what is pending and the final digests) and
// removes it. Delivered files stay.
func (m *Manager) Delete(ctx context.Context, account, region, nameOrARN string) error {
	t, err := m.Store.Resolve(ctx, account, region, nameOrARN, true)
	if err != nil {
		return err
	}
	if t.IsLogging() {
		now := m.now()
		if err := m.Store.SetLogging(ctx, t.ARN, false, now); err != nil {
			return err
		}
		m.endChains(ctx, t, now)
	}
	return m.Store.Delete(ctx, t.ARN)
}

// SetLogging starts or stops a trail's logging; starting with validation on starts its digest
// chains, stopping ends them.
func (m *Manager) SetLogging(ctx context.Context, account, region, nameOrARN string, on bool) error {
	t, err := m.Store.Resolve(ctx, account, region, nameOrARN, true)
	if err != nil {
		return err
	}
	if t.IsLogging() == on {
		return nil
	}
	now := m.now()
	if err := m.Store.SetLogging(ctx, t.ARN, on, now); err != nil {
		return err
	}
	if !on {
		m.endChains(ctx, t, now)
		return nil
	}
	if t.LogFileValidationEnabled {
		return m.Store.StartChains(ctx, t, now)
	}
	return nil
}

// endChains marks the trail's digest chains closing and waits for delivery to write what is
// pending and the final digests. A delivery failure does not fail the change: it is retried and
// shows in the trail's status.
func (m *Manager) endChains(ctx context.Context, t *Trail, at time.Time) {
	if err := m.Store.CloseChains(ctx, t.ARN, at); err != nil {
		m.logger().Warn("close digest chains", "trail", t.ARN, "err", err)
	}
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := m.Delivery.Flush(fctx); err != nil {
		m.logger().Warn("final delivery", "trail", t.ARN, "err", err)
	}
}

// Apply validates the settings given and applies them to t.
func (m *Manager) Apply(ctx context.Context, t *Trail, in Settings) error {
	if in.S3BucketName != nil {
		if err := objstore.ValidBucketName(*in.S3BucketName); err != nil {
			return &Error{Kind: ErrInvalidBucketName, Message: "Bucket name is not valid: " + strings.TrimPrefix(err.Error(), objstore.ErrInvalidBucket.Error()+": ") + "."}
		}
		t.S3BucketName = *in.S3BucketName
	}
	if in.S3KeyPrefix != nil {
		if len(*in.S3KeyPrefix) > 200 {
			return &Error{Kind: ErrInvalidPrefix, Message: "S3 key prefix must be at most 200 characters long."}
		}
		t.S3KeyPrefix = *in.S3KeyPrefix
	}
	if in.SnsTopicName != nil {
		if n := *in.SnsTopicName; len(n) > 256 {
			return &Error{Kind: ErrInvalidSnsTopic, Message: "SNS topic name or ARN must be at most 256 characters long."}
		}
		t.SnsTopicName = *in.SnsTopicName
	}
	if in.IncludeGlobalServiceEvents != nil {
		t.IncludeGlobalServiceEvents = *in.IncludeGlobalServiceEvents
	}
	if in.IsMultiRegionTrail != nil {
		t.IsMultiRegionTrail = *in.IsMultiRegionTrail
	}
	if in.EnableLogFileValidation != nil {
		t.LogFileValidationEnabled = *in.EnableLogFileValidation
	}
	if in.CloudWatchLogsLogGroupArn != nil {
		t.CloudWatchLogsLogGroupArn = *in.CloudWatchLogsLogGroupArn
	}
	if in.CloudWatchLogsRoleArn != nil {
		t.CloudWatchLogsRoleArn = *in.CloudWatchLogsRoleArn
	}
	if in.KmsKeyID != nil {
		t.KmsKeyID = *in.KmsKeyID
	}
	if in.IsOrganizationTrail != nil {
		t.IsOrganizationTrail = *in.IsOrganizationTrail
		t.OrganizationID = ""
		if t.IsOrganizationTrail {
			org, err := m.Store.ManagedOrganization(ctx, t.Account)
			if err != nil {
				return err
			}
			t.OrganizationID = org
		}
	}
	switch {
	case t.IsMultiRegionTrail && !t.IncludeGlobalServiceEvents:
		return &Error{Kind: ErrInvalidCombination, Message: "Multi-Region trail must include global service events."}
	case (t.CloudWatchLogsLogGroupArn == "") != (t.CloudWatchLogsRoleArn == ""):
		return &Error{Kind: ErrInvalidCombination, Message: "You must specify a log group and a role ARN together."}
	case t.CloudWatchLogsLogGroupArn != "" && !strings.HasPrefix(t.CloudWatchLogsLogGroupArn, "arn:aws:logs:"):
		return &Error{Kind: ErrInvalidLogGroupArn, Message: "CloudWatch Logs log group ARN " + t.CloudWatchLogsLogGroupArn + " is not valid: want arn:aws:logs:<region>:<account>:log-group:<name>:*."}
	case t.CloudWatchLogsRoleArn != "" && !strings.HasPrefix(t.CloudWatchLogsRoleArn, "arn:aws:iam::"):
		return &Error{Kind: ErrInvalidLogsRoleArn, Message: "CloudWatch Logs role ARN " + t.CloudWatchLogsRoleArn + " is not valid: want arn:aws:iam::<account>:role/<name>."}
	}
	if in.CloudWatchLogsLogGroupArn != nil && t.CloudWatchLogsLogGroupArn != "" {
		if m.LogGroups == nil {
			return &Error{Kind: ErrInvalidLogGroupArn, Message: "CloudWatch Logs is not enabled on this cairn server."}
		}
		if err := m.LogGroups.CheckLogGroup(ctx, t.Account, t.CloudWatchLogsLogGroupArn); err != nil {
			return err
		}
	}
	if in.S3BucketName != nil {
		return m.ensureBucket(ctx, t.S3BucketName)
	}
	return nil
}

// ensureBucket checks that the trail's bucket exists, creating it when cairn may (as the
// console's "create a new S3 bucket" does).
func (m *Manager) ensureBucket(ctx context.Context, bucket string) error {
	ok, err := m.Objects.BucketExists(ctx, bucket)
	if err != nil {
		return err
	}
	if ok {
		return nil
	}
	if !m.CreateBuckets {
		return &Error{Kind: ErrBucketNotFound, Message: "S3 bucket " + bucket + " does not exist."}
	}
	if err := m.Objects.CreateBucket(ctx, bucket); err != nil {
		if errors.Is(err, objstore.ErrBucketNotOwned) {
			return &Error{Kind: ErrBucketNotFound, Message: "S3 bucket " + bucket + " exists but belongs to someone else."}
		}
		return err
	}
	return nil
}
