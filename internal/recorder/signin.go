package recorder

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/cairn-dev/cairn/internal/event"
)

// SignIn is one console sign-in attempt, recorded as CloudTrail records AWS console sign-ins:
// a ConsoleLogin event from signin.amazonaws.com of type AwsConsoleSignIn, with
// responseElements.ConsoleLogin Success or Failure and errorMessage "Failed authentication", so
// the CIS metric filter on failed sign-ins matches cairn's own console.
type SignIn struct {
	Time      time.Time
	Identity  *event.UserIdentity // from iam.Attempt.Identity
	Account   string              // recipientAccountId
	Region    string
	SourceIP  string
	UserAgent string
	Success   bool
	MFAUsed   bool
	MFADevice string // the MFA device's ARN, recorded as MFAIdentifier when MFA was used
	LoginTo   string // the console URL signed in to
	TLS       *event.TLSDetails
}

// FailedAuthentication is the errorMessage of a failed ConsoleLogin.
const FailedAuthentication = "Failed authentication"

// signInIdentity is userIdentity as sign-in events carry it: accessKeyId is present and empty
// for root and for failures, which event.UserIdentity would omit.
type signInIdentity struct {
	Type        string  `json:"type"`
	PrincipalID string  `json:"principalId,omitempty"`
	ARN         string  `json:"arn,omitempty"`
	AccountID   string  `json:"accountId,omitempty"`
	AccessKeyID *string `json:"accessKeyId,omitempty"`
	UserName    string  `json:"userName,omitempty"`
}

type signInRecord struct {
	EventVersion        string            `json:"eventVersion"`
	UserIdentity        signInIdentity    `json:"userIdentity"`
	EventTime           string            `json:"eventTime"`
	EventSource         string            `json:"eventSource"`
	EventName           string            `json:"eventName"`
	AWSRegion           string            `json:"awsRegion"`
	SourceIPAddress     string            `json:"sourceIPAddress"`
	UserAgent           string            `json:"userAgent"`
	ErrorMessage        string            `json:"errorMessage,omitempty"`
	RequestParameters   json.RawMessage   `json:"requestParameters"`
	ResponseElements    map[string]string `json:"responseElements"`
	AdditionalEventData signInData        `json:"additionalEventData"`
	EventID             string            `json:"eventID"`
	ReadOnly            bool              `json:"readOnly"`
	EventType           string            `json:"eventType"`
	ManagementEvent     bool              `json:"managementEvent"`
	RecipientAccountID  string            `json:"recipientAccountId"`
	EventCategory       string            `json:"eventCategory"`
	TLSDetails          *event.TLSDetails `json:"tlsDetails,omitempty"`
}

type signInData struct {
	LoginTo       string `json:"LoginTo,omitempty"`
	MobileVersion string `json:"MobileVersion"`
	MFAIdentifier string `json:"MFAIdentifier,omitempty"`
	MFAUsed       string `json:"MFAUsed"`
}

func yesNo(b bool) string {
	if b {
		return "Yes"
	}
	return "No"
}

// Marshal renders the attempt as a CloudTrail record, eventID fresh.
func (s SignIn) Marshal() []byte {
	id := signInIdentity{}
	if s.Identity != nil {
		id = signInIdentity{Type: s.Identity.Type, PrincipalID: s.Identity.PrincipalID, ARN: s.Identity.ARN,
			AccountID: s.Identity.AccountID, UserName: s.Identity.UserName}
	}
	if id.Type == "Root" || !s.Success {
		empty := ""
		id.AccessKeyID = &empty
	}
	rec := signInRecord{
		EventVersion: event.CurrentVersion, UserIdentity: id, EventTime: s.Time.UTC().Format(event.TimeLayout),
		EventSource: "signin.amazonaws.com", EventName: "ConsoleLogin", AWSRegion: s.Region,
		SourceIPAddress: s.SourceIP, UserAgent: truncate(s.UserAgent, 1024),
		RequestParameters: json.RawMessage("null"), ResponseElements: map[string]string{"ConsoleLogin": "Success"},
		AdditionalEventData: signInData{LoginTo: s.LoginTo, MobileVersion: "No", MFAUsed: yesNo(s.MFAUsed)},
		EventID:             uuid.NewString(), EventType: "AwsConsoleSignIn", ManagementEvent: true,
		RecipientAccountID: s.Account, EventCategory: event.CategoryManagement, TLSDetails: s.TLS,
	}
	if s.MFAUsed {
		rec.AdditionalEventData.MFAIdentifier = s.MFADevice
	}
	if !s.Success {
		rec.ErrorMessage = FailedAuthentication
		rec.ResponseElements["ConsoleLogin"] = "Failure"
	}
	b, _ := json.Marshal(rec) // only fixed types: cannot fail
	return b
}

// RecordSignIn records a sign-in attempt durably before returning, so no sign-in (least of all
// a failed one) goes unrecorded because cairn stopped right after answering it.
func (r *Recorder) RecordSignIn(ctx context.Context, s SignIn) (string, error) {
	res, err := r.Record(ctx, Scope{AnyAccount: true}, [][]byte{s.Marshal()})
	if err != nil {
		return "", fmt.Errorf("record ConsoleLogin: %w", err)
	}
	if res[0].Status == Rejected {
		return "", fmt.Errorf("record ConsoleLogin: %w", res[0].Err)
	}
	return res[0].EventID, nil
}
