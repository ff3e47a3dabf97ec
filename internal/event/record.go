package event

import (
	"encoding/json"
	"time"
)

// CurrentVersion is the eventVersion cairn writes into records it creates itself.
const CurrentVersion = "1.11"

// MaxRecordBytes is CloudTrail's limit on one record (eventVersion 1.05 and later).
const MaxRecordBytes = 256 << 10

// Event categories as CloudTrail writes them in eventCategory.
const (
	CategoryManagement        = "Management"
	CategoryData              = "Data"
	CategoryInsight           = "Insight"
	CategoryNetworkActivity   = "NetworkActivity"
	CategoryConfigurationItem = "ConfigurationItem"
	CategoryActivityAuditLog  = "ActivityAuditLog"
)

// EventTypeInsight is the eventType of Insights records, which carry no top-level
// eventName, eventSource or userIdentity.
const EventTypeInsight = "AwsCloudTrailInsight"

// Record is one CloudTrail record. Parsed fields serve indexing and routing; Raw is the record
// itself. Object-valued fields that cairn never interprets stay json.RawMessage.
type Record struct {
	// Raw is the producer's JSON, byte for byte, plus any fields the recorder stamped.
	Raw []byte `json:"-"`

	EventVersion                 string          `json:"eventVersion"`
	UserIdentity                 *UserIdentity   `json:"userIdentity"`
	EventTime                    time.Time       `json:"-"`
	EventTimeText                string          `json:"eventTime"`
	EventSource                  string          `json:"eventSource"`
	EventName                    string          `json:"eventName"`
	AWSRegion                    string          `json:"awsRegion"`
	SourceIPAddress              string          `json:"sourceIPAddress"`
	UserAgent                    string          `json:"userAgent"`
	ErrorCode                    string          `json:"errorCode"`
	ErrorMessage                 string          `json:"errorMessage"`
	RequestParameters            json.RawMessage `json:"requestParameters"`
	ResponseElements             json.RawMessage `json:"responseElements"`
	AdditionalEventData          json.RawMessage `json:"additionalEventData"`
	RequestID                    string          `json:"requestID"`
	EventID                      string          `json:"eventID"`
	EventType                    string          `json:"eventType"`
	APIVersion                   string          `json:"apiVersion"`
	ManagementEvent              *bool           `json:"managementEvent"`
	ReadOnly                     *bool           `json:"readOnly"`
	Resources                    []Resource      `json:"resources"`
	RecipientAccountID           string          `json:"recipientAccountId"`
	ServiceEventDetails          json.RawMessage `json:"serviceEventDetails"`
	SharedEventID                string          `json:"sharedEventID"`
	VPCEndpointID                string          `json:"vpcEndpointId"`
	VPCEndpointAccountID         string          `json:"vpcEndpointAccountId"`
	EventCategory                string          `json:"eventCategory"`
	Addendum                     json.RawMessage `json:"addendum"`
	SessionCredentialFromConsole string          `json:"sessionCredentialFromConsole"`
	EdgeDeviceDetails            json.RawMessage `json:"edgeDeviceDetails"`
	TLSDetails                   *TLSDetails     `json:"tlsDetails"`
	InsightDetails               *InsightDetails `json:"insightDetails"`
	EventContext                 json.RawMessage `json:"eventContext"`
	Annotation                   string          `json:"annotation"`
}

// UserIdentity is who made the request (reference §1.4).
type UserIdentity struct {
	Type             string          `json:"type,omitempty"`
	PrincipalID      string          `json:"principalId,omitempty"`
	ARN              string          `json:"arn,omitempty"`
	AccountID        string          `json:"accountId,omitempty"`
	AccessKeyID      string          `json:"accessKeyId,omitempty"`
	UserName         string          `json:"userName,omitempty"`
	InvokedBy        string          `json:"invokedBy,omitempty"`
	IdentityProvider string          `json:"identityProvider,omitempty"`
	SessionContext   *SessionContext `json:"sessionContext,omitempty"`
	CredentialID     string          `json:"credentialId,omitempty"`
	OnBehalfOf       json.RawMessage `json:"onBehalfOf,omitempty"`
	InScopeOf        json.RawMessage `json:"inScopeOf,omitempty"`
}

// SessionContext describes temporary credentials. mfaAuthenticated is a string in CloudTrail.
type SessionContext struct {
	Attributes          *SessionAttributes   `json:"attributes,omitempty"`
	SessionIssuer       *SessionIssuer       `json:"sessionIssuer,omitempty"`
	WebIDFederationData *WebIDFederationData `json:"webIdFederationData,omitempty"`
	SourceIdentity      string               `json:"sourceIdentity,omitempty"`
	EC2RoleDelivery     string               `json:"ec2RoleDelivery,omitempty"`
	EC2IssuedInVPC      string               `json:"ec2IssuedInVPC,omitempty"`
}

type SessionAttributes struct {
	CreationDate     string `json:"creationDate,omitempty"`
	MFAAuthenticated string `json:"mfaAuthenticated,omitempty"`
}

type SessionIssuer struct {
	Type        string `json:"type,omitempty"`
	PrincipalID string `json:"principalId,omitempty"`
	ARN         string `json:"arn,omitempty"`
	AccountID   string `json:"accountId,omitempty"`
	UserName    string `json:"userName,omitempty"`
}

type WebIDFederationData struct {
	FederatedProvider string          `json:"federatedProvider,omitempty"`
	Attributes        json.RawMessage `json:"attributes,omitempty"`
}

// Resource is one entry of resources[]; CloudTrail spells the ARN key in upper case.
type Resource struct {
	AccountID string `json:"accountId,omitempty"`
	Type      string `json:"type,omitempty"`
	ARN       string `json:"ARN,omitempty"`
	ARNPrefix string `json:"ARNPrefix,omitempty"`
}

type TLSDetails struct {
	TLSVersion               string `json:"tlsVersion,omitempty"`
	CipherSuite              string `json:"cipherSuite,omitempty"`
	ClientProvidedHostHeader string `json:"clientProvidedHostHeader,omitempty"`
}

// InsightDetails holds what an Insights record says about the API it watched.
type InsightDetails struct {
	State          string          `json:"state,omitempty"`
	EventSource    string          `json:"eventSource,omitempty"`
	EventName      string          `json:"eventName,omitempty"`
	InsightType    string          `json:"insightType,omitempty"`
	ErrorCode      string          `json:"errorCode,omitempty"`
	InsightContext json.RawMessage `json:"insightContext,omitempty"`
}

// IsInsight reports whether r is an Insights record.
func (r *Record) IsInsight() bool {
	return r.EventType == EventTypeInsight || r.EventCategory == CategoryInsight
}

// Category returns eventCategory, derived for records older than 1.07 that lack it.
func (r *Record) Category() string {
	if r.EventCategory != "" {
		return r.EventCategory
	}
	if r.IsInsight() {
		return CategoryInsight
	}
	if r.ManagementEvent != nil && !*r.ManagementEvent {
		return CategoryData
	}
	// Before managementEvent existed (1.06), object-level S3 and Lambda invocations were the
	// data events; their resources say so.
	for _, res := range r.Resources {
		if res.Type == "AWS::S3::Object" {
			return CategoryData
		}
	}
	if r.EventSource == "lambda.amazonaws.com" && r.EventName == "Invoke" {
		return CategoryData
	}
	return CategoryManagement
}
