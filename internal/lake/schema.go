package lake

import (
	"fmt"
	"strings"
)

// Kind is what an event data store holds, which fixes its schema (reference/cloudtrail.md §5.2–5.4).
type Kind int

const (
	KindEvents   Kind = iota // CloudTrail management, data, network activity and Insights events
	KindConfig               // AWS Config configuration items
	KindActivity             // events from outside AWS, sent through channels (PutAuditEvents)
)

func (k Kind) String() string {
	return [...]string{"CloudTrail events", "configuration items", "integration events"}[k]
}

// field is one column of a Lake schema, or a field of a struct column. Leaves take their value
// from the record's JSON key (or, for staged columns, from what Go already parsed); structs and
// lists of structs nest.
type field struct {
	name   string // SQL name, lower case, as Lake's schema names it
	key    string // JSON member it comes from
	typ    string // leaf type: VARCHAR, TIMESTAMP, BOOLEAN or MAP
	fields []field
	list   bool   // a list of structs (resources, relationships)
	staged string // a staged column that supplies the value instead of the JSON
}

const mapType = "MAP(VARCHAR, VARCHAR)"

func str(name, key string) field     { return field{name: name, key: key, typ: "VARCHAR"} }
func mapOf(name, key string) field   { return field{name: name, key: key, typ: mapType} }
func boolean(name, key string) field { return field{name: name, key: key, typ: "BOOLEAN"} }
func object(name, key string, fs ...field) field {
	return field{name: name, key: key, fields: fs}
}

var userIdentity = object("useridentity", "userIdentity",
	str("type", "type"), str("principalid", "principalId"), str("arn", "arn"), str("accountid", "accountId"),
	str("accesskeyid", "accessKeyId"), str("username", "userName"),
	object("sessioncontext", "sessionContext",
		object("attributes", "attributes",
			field{name: "creationdate", key: "creationDate", typ: "TIMESTAMP"}, str("mfaauthenticated", "mfaAuthenticated")),
		object("sessionissuer", "sessionIssuer",
			str("type", "type"), str("principalid", "principalId"), str("arn", "arn"), str("accountid", "accountId"), str("username", "userName")),
		object("webidfederationdata", "webIdFederationData", str("federatedprovider", "federatedProvider"), mapOf("attributes", "attributes")),
		str("sourceidentity", "sourceIdentity"), str("ec2roledelivery", "ec2RoleDelivery"), str("ec2issuedinvpc", "ec2IssuedInVPC")),
	str("invokedby", "invokedBy"), str("identityprovider", "identityProvider"))

// eventTime and eventCategory are staged from what the recorder parsed: eventTime accepts every
// RFC 3339 form, and eventCategory is derived for records older than 1.07.
var (
	eventTimeField     = field{name: "eventtime", typ: "TIMESTAMP", staged: "eventtime"}
	eventCategoryField = field{name: "eventcategory", typ: "VARCHAR", staged: "eventcategory"}
	eventJSONField     = field{name: "eventjson", typ: "VARCHAR", staged: "eventjson"}
)

// schemas lists each kind's columns in Lake's order, without eventjsonchecksum, which every table
// computes from eventjson when a query reads it.
var schemas = map[Kind][]field{
	KindEvents: {
		str("eventversion", "eventVersion"), userIdentity, eventTimeField,
		str("eventsource", "eventSource"), str("eventname", "eventName"), str("awsregion", "awsRegion"),
		str("sourceipaddress", "sourceIPAddress"), str("useragent", "userAgent"), str("errorcode", "errorCode"),
		str("errormessage", "errorMessage"), mapOf("requestparameters", "requestParameters"),
		mapOf("responseelements", "responseElements"), mapOf("additionaleventdata", "additionalEventData"),
		str("requestid", "requestID"), str("eventid", "eventID"), boolean("readonly", "readOnly"),
		{name: "resources", key: "resources", list: true, fields: []field{
			str("accountid", "accountId"), str("type", "type"), str("arn", "ARN"), str("arnprefix", "ARNPrefix")}},
		str("eventtype", "eventType"), str("apiversion", "apiVersion"), boolean("managementevent", "managementEvent"),
		str("recipientaccountid", "recipientAccountId"), str("sharedeventid", "sharedEventID"),
		str("annotation", "annotation"), str("vpcendpointid", "vpcEndpointId"), str("vpcendpointaccountid", "vpcEndpointAccountId"),
		mapOf("serviceeventdetails", "serviceEventDetails"), mapOf("addendum", "addendum"),
		mapOf("edgedevicedetails", "edgeDeviceDetails"), mapOf("insightdetails", "insightDetails"),
		eventCategoryField,
		object("tlsdetails", "tlsDetails", str("tlsversion", "tlsVersion"), str("ciphersuite", "cipherSuite"),
			str("clientprovidedhostheader", "clientProvidedHostHeader")),
		str("sessioncredentialfromconsole", "sessionCredentialFromConsole"),
		eventJSONField,
	},
	KindConfig: {
		str("eventversion", "eventVersion"), eventCategoryField, str("eventtype", "eventType"), str("eventid", "eventID"),
		eventTimeField, str("awsregion", "awsRegion"), str("recipientaccountid", "recipientAccountId"),
		mapOf("addendum", "addendum"),
		object("eventdata", "eventData",
			str("configurationitemversion", "configurationItemVersion"),
			str("configurationitemcapturetime", "configurationItemCaptureTime"),
			str("configurationitemstatus", "configurationItemStatus"),
			str("configurationitemstateid", "configurationStateId"),
			str("accountid", "accountId"), str("resourcetype", "resourceType"), str("resourceid", "resourceId"),
			str("resourcename", "resourceName"), str("arn", "arn"), str("awsregion", "awsRegion"),
			str("availabilityzone", "availabilityZone"), str("resourcecreationtime", "resourceCreationTime"),
			mapOf("configuration", "configuration"), mapOf("supplementaryconfiguration", "supplementaryConfiguration"),
			str("relatedevents", "relatedEvents"),
			field{name: "relationships", key: "relationships", list: true, fields: []field{
				str("name", "name"), str("resourcetype", "resourceType"), str("resourceid", "resourceId"), str("resourcename", "resourceName")}},
			mapOf("tags", "tags")),
		eventJSONField,
	},
	KindActivity: {
		str("eventversion", "eventVersion"), eventCategoryField, str("eventtype", "eventType"), str("eventid", "eventID"),
		eventTimeField, str("awsregion", "awsRegion"), str("recipientaccountid", "recipientAccountId"),
		mapOf("addendum", "addendum"),
		object("metadata", "metadata", str("ingestiontime", "ingestionTime"), str("channelarn", "channelARN")),
		object("eventdata", "eventData",
			str("version", "version"),
			object("useridentity", "userIdentity", str("type", "type"), str("principalid", "principalId"), mapOf("details", "details")),
			str("useragent", "userAgent"), str("eventsource", "eventSource"), str("eventname", "eventName"),
			str("eventtime", "eventTime"), str("uid", "UID"),
			mapOf("requestparameters", "requestParameters"), mapOf("responseelements", "responseElements"),
			str("errorcode", "errorCode"), str("errormessage", "errorMessage"), str("sourceipaddress", "sourceIPAddress"),
			str("recipientaccountid", "recipientAccountId"), mapOf("additionaleventdata", "additionalEventData")),
		eventJSONField,
	},
}

// sqlType is the DuckDB type of f.
func (f field) sqlType() string {
	if f.fields == nil {
		return f.typ
	}
	parts := make([]string, len(f.fields))
	for i, c := range f.fields {
		parts[i] = quote(c.name) + " " + c.sqlType()
	}
	t := "STRUCT(" + strings.Join(parts, ", ") + ")"
	if f.list {
		t += "[]"
	}
	return t
}

// jsonSpec is f's structure for json_transform, keyed by JSON member names.
func (f field) jsonSpec() string {
	if f.fields == nil {
		return `"` + f.typ + `"`
	}
	parts := make([]string, len(f.fields))
	for i, c := range f.fields {
		parts[i] = fmt.Sprintf("%q:%s", c.key, c.jsonSpec())
	}
	s := "{" + strings.Join(parts, ",") + "}"
	if f.list {
		s = "[" + s + "]"
	}
	return s
}

// renamed reports whether some field below f has a SQL name that is not its JSON key (ignoring
// case), so a cast by name cannot convert it.
func (f field) renamed() bool {
	for _, c := range f.fields {
		if !strings.EqualFold(c.name, c.key) || c.renamed() {
			return true
		}
	}
	return false
}

// expr converts v, f's value as json_transform produced it, to f's SQL type.
func (f field) expr(v string) string {
	switch {
	case f.fields == nil:
		return v
	case !f.renamed():
		return "CAST(" + v + " AS " + f.sqlType() + ")"
	case f.list:
		return fmt.Sprintf("list_transform(%s, lake_x -> %s)", v, field{fields: f.fields}.expr("lake_x"))
	}
	parts := make([]string, len(f.fields))
	for i, c := range f.fields {
		parts[i] = quote(c.name) + " := " + c.expr(v+"."+quote(c.key))
	}
	return fmt.Sprintf("CASE WHEN %s IS NULL THEN NULL ELSE struct_pack(%s) END", v, strings.Join(parts, ", "))
}

func quote(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }

// columnDefs is the column list of a store's table: the schema, then eventjsonchecksum computed
// from eventjson when read (hashing at insert would cost a fifth of the ingest time).
func columnDefs(k Kind) string {
	var parts []string
	for _, f := range schemas[k] {
		parts = append(parts, quote(f.name)+" "+f.sqlType())
	}
	parts = append(parts, `eventjsonchecksum VARCHAR GENERATED ALWAYS AS (sha256(eventjson)) VIRTUAL`)
	return strings.Join(parts, ", ")
}

// projection selects k's columns from a relation with the staged columns (eventtime,
// eventcategory, eventjson). Stored tables parse eventjson once per row for every column.
// perColumn parses it separately for each column instead, so a query on a view that reads one
// column pays for one (views of encrypted stores), and adds eventjsonchecksum.
func projection(k Kind, from string, perColumn bool) string {
	var spec, cols []string
	for _, f := range schemas[k] {
		if f.staged != "" {
			cols = append(cols, quote(f.staged)+" AS "+quote(f.name))
			continue
		}
		s := fmt.Sprintf("%q:%s", f.key, f.jsonSpec())
		if perColumn {
			one := fmt.Sprintf("(json_transform(eventjson, '%s'))", strings.ReplaceAll("{"+s+"}", "'", "''"))
			cols = append(cols, f.expr(one+"."+quote(f.key))+" AS "+quote(f.name))
			continue
		}
		spec = append(spec, s)
		cols = append(cols, f.expr("lake_j."+quote(f.key))+" AS "+quote(f.name))
	}
	if perColumn {
		cols = append(cols, "sha256(eventjson) AS eventjsonchecksum")
		return fmt.Sprintf("SELECT %s FROM %s", strings.Join(cols, ", "), from)
	}
	structure := strings.ReplaceAll("{"+strings.Join(spec, ",")+"}", "'", "''")
	return fmt.Sprintf("SELECT %s FROM (SELECT *, json_transform(eventjson, '%s') AS lake_j FROM %s)",
		strings.Join(cols, ", "), structure, from)
}

// columnNames lists k's stored columns, for INSERT.
func columnNames(k Kind) string {
	var names []string
	for _, f := range schemas[k] {
		names = append(names, quote(f.name))
	}
	return strings.Join(names, ", ")
}
