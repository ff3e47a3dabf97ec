package gen

import (
	"bytes"
	"time"
)

// scratch holds the buffers one call is assembled from, reused across
// events.
type scratch struct {
	req, resp, res, add []byte
	out                 []byte
}

// call is one API call being generated: who, where, from what client, and
// the pieces each operation fills in.
type call struct {
	g      *Generator
	t      time.Time
	acct   *account
	reg    *regional
	region string

	p       *principal
	mode    mode
	service string // invokedBy for modeService
	client  client
	ip      string

	source, name string // eventSource, eventName
	readOnly     bool
	data         bool // data event (S3 objects)
	eventType    string
	apiVersion   string
	requestID    idKind
	host         string // tlsDetails.clientProvidedHostHeader; "" = default endpoint
	vpce         string
	shared       bool     // sharedEventID: a cross-account call
	home         *account // the caller's account when not acct (cross-account)
	errCode      string
	errMsg       string
	rid          [36]byte
	hasRID       bool
	tls12        bool

	identity string // userIdentity JSON when the call sets it itself (sign-in)

	// The record's variable parts, built separately and spliced in.
	req, resp, res, add jw
}

type idKind int

const (
	idUUID   idKind = iota
	idNone          // console sign-in events carry no requestID
	idS3            // 16 upper-case hex digits
	idDynamo        // 52 upper-case alphanumerics
)

// newCall starts a call at t in a randomly chosen account and region.
// The call lives on the caller's stack (ops are dispatched statically, see
// run), so the many field writes while building a record need no GC write
// barriers; that was a third of Event's cost.
func (g *Generator) newCall(c *call, t time.Time) {
	s := &g.scratch
	*c = call{g: g, t: t, eventType: "AwsApiCall",
		req: jw{s.req[:0]}, resp: jw{s.resp[:0]}, res: jw{s.res[:0]}, add: jw{s.add[:0]}}
	// Accounts: the primary takes ~70 %, the rest share what is left.
	ai := 0
	if n := len(g.accounts); n > 1 && !g.chance(0.7) {
		ai = 1 + g.intn(n-1)
	}
	c.acct = g.accounts[ai]
	ri := 0
	if n := len(g.regions); n > 1 && !g.chance(0.6) {
		ri = 1 + g.intn(n-1)
	}
	c.region, c.reg = g.regions[ri], c.acct.regions[ri]
	c.tls12 = g.chance(0.12)
}

func (g *Generator) pickOp() op {
	x := g.intn(g.opTotal)
	for _, o := range g.ops {
		if x < o.weight {
			return o
		}
		x -= o.weight
	}
	return g.ops[len(g.ops)-1]
}

// global records the call in us-east-1, as AWS does for IAM and sign-in.
func (c *call) global() { c.region = "us-east-1" }

func (c *call) svc(source, name string) {
	c.source, c.name = source, name
}

// --- choosing the caller ---

// asPerson makes a person the caller: IAM users (keys or console), roles
// people assume (CLI or console), and now and then root in the console.
func (c *call) asPerson() {
	g, a := c.g, c.acct
	switch x := g.intn(100); {
	case x < 30:
		c.p, c.mode = pick(g, a.humans), modeUserKey
	case x < 50:
		c.p, c.mode = pick(g, a.humans), modeUserConsole
	case x < 74:
		c.p, c.mode = pick(g, a.people), modeRole
	case x < 98:
		c.p, c.mode = pick(g, a.people), modeRoleConsole
	default:
		c.p, c.mode = a.root, modeRootConsole
	}
	c.ip = c.p.ip
	if g.chance(0.1) { // travelling, VPN, phone tethering
		c.ip = ipIn(g.rng, clientNets)
	}
	c.pickClient()
}

// asAutomation makes a machine the caller: CI/Terraform users or roles of
// Lambda functions, instances, containers and pipelines.
func (c *call) asAutomation() {
	g, a := c.g, c.acct
	if g.chance(0.25) {
		c.p, c.mode = pick(g, a.bots), modeUserKey
	} else {
		c.p, c.mode = pick(g, a.auto), modeRole
	}
	c.ip = c.p.ip
	c.pickClient()
}

// asAnyone picks a person with probability people, else automation.
func (c *call) asAnyone(people float64) {
	if c.g.chance(people) {
		c.asPerson()
	} else {
		c.asAutomation()
	}
}

// asService makes an AWS service the caller (userIdentity type AWSService).
func (c *call) asService(host string) {
	c.mode, c.service, c.ip, c.p = modeService, host, host, nil
	c.client = client{kind: clientService}
}

func (c *call) console() bool {
	return c.mode == modeUserConsole || c.mode == modeRoleConsole || c.mode == modeRootConsole
}

// callerARN is the ARN AWS names in AccessDenied messages.
func (c *call) callerARN() string {
	switch c.mode {
	case modeRole, modeRoleConsole:
		return "arn:aws:sts::" + c.acct.id + ":assumed-role/" + c.p.name + "/" + esc(c.p.session)
	case modeService:
		return c.service
	}
	return c.p.arn
}

// --- errors ---

// fail turns the call into a failed one.
func (c *call) fail(code, msg string) { c.errCode, c.errMsg = code, msg }

// denied makes the call fail with the service's access-denied error.
func (c *call) denied(action, resource string) {
	msg := "User: " + c.callerARN() + " is not authorized to perform: " + action + " on resource: " + resource +
		" because no identity-based policy allows the " + action + " action"
	switch c.source {
	case "ec2.amazonaws.com":
		c.fail("Client.UnauthorizedOperation", "You are not authorized to perform this operation. "+msg+
			". Encoded authorization failure message: "+c.g.token(380+c.g.intn(300)))
	case "s3.amazonaws.com":
		c.fail("AccessDenied", "Access Denied")
	default:
		c.fail("AccessDenied", msg)
	}
}

// maybeDenied fails the call with AccessDenied now and then (5 % of
// writes, 2.5 % of reads, rarely for services and root) and reports
// whether it did. resource is only called when the call is denied:
// building ARNs for every call showed up in profiles.
func (c *call) maybeDenied(action string, resource func() string) bool {
	p := 0.05
	if c.readOnly {
		p = 0.025
	}
	if c.mode == modeService || c.mode == modeRootConsole {
		p = 0.002
	}
	if c.g.chance(p) {
		c.denied(action, resource())
		return true
	}
	return false
}

// constant returns a func returning s, for maybeDenied.
func constant(s string) func() string { return func() string { return s } }

// --- assembling the record ---

// build runs the op and assembles the record in AWS's field order. It
// appends to a local slice with literal fragments rather than through jw:
// this is the per-event hot path, and writes to a local need no GC write
// barriers.
func (c *call) build(o op) []byte {
	c.run(o.kind)
	g := c.g
	b := g.scratch.out[:0]
	b = append(b, `{"eventVersion":"1.11","userIdentity":`...)
	b = c.appendIdentity(b)
	b = append(b, `,"eventTime":"`...)
	b = appendTime(b, c.t)
	b = append(b, `","eventSource":"`...)
	b = append(b, c.source...)
	b = append(b, `","eventName":"`...)
	b = append(b, c.name...)
	b = append(b, `","awsRegion":"`...)
	b = append(b, c.region...)
	b = append(b, `","sourceIPAddress":"`...)
	b = append(b, c.ip...)
	b = append(b, `","userAgent":"`...)
	b = c.appendUA(b)
	b = append(b, '"')
	if c.errCode != "" {
		b = append(b, `,"errorCode":`...)
		b = appendQuoted(b, c.errCode)
	}
	if c.errMsg != "" {
		b = append(b, `,"errorMessage":`...)
		b = appendQuoted(b, c.errMsg)
	}
	b = append(b, `,"requestParameters":`...)
	if len(c.req.b) == 0 {
		b = append(b, "null"...)
	} else {
		b = append(b, c.req.b...)
	}
	b = append(b, `,"responseElements":`...)
	if len(c.resp.b) == 0 || c.errCode != "" && c.eventType != "AwsConsoleSignIn" {
		b = append(b, "null"...)
	} else {
		b = append(b, c.resp.b...)
	}
	if len(c.add.b) > 0 {
		b = append(b, `,"additionalEventData":`...)
		b = append(b, c.add.b...)
	}
	switch c.requestID {
	case idUUID:
		b = append(b, `,"requestID":"`...)
		b = append(b, c.requestUUID()...)
		b = append(b, '"')
	case idS3:
		b = append(b, `,"requestID":"`...)
		for range 16 {
			b = append(b, "0123456789ABCDEF"[g.rng.IntN(16)])
		}
		b = append(b, '"')
	case idDynamo:
		b = append(b, `,"requestID":"`...)
		for range 52 {
			b = append(b, base32Upper[g.rng.IntN(32)])
		}
		b = append(b, '"')
	}
	b = append(b, `,"eventID":"`...)
	b = appendUUID(b, g.rng)
	if c.readOnly {
		b = append(b, `","readOnly":true`...)
	} else {
		b = append(b, `","readOnly":false`...)
	}
	if len(c.res.b) > 0 {
		b = append(b, `,"resources":`...)
		b = append(b, c.res.b...)
	}
	b = append(b, `,"eventType":"`...)
	b = append(b, c.eventType...)
	if c.apiVersion != "" {
		b = append(b, `","apiVersion":"`...)
		b = append(b, c.apiVersion...)
	}
	if c.data {
		b = append(b, `","managementEvent":false,"recipientAccountId":"`...)
	} else {
		b = append(b, `","managementEvent":true,"recipientAccountId":"`...)
	}
	b = append(b, c.acct.id...)
	b = append(b, '"')
	if c.shared {
		b = append(b, `,"sharedEventID":"`...)
		b = appendUUID(b, g.rng)
		b = append(b, '"')
	}
	if c.vpce != "" {
		b = append(b, `,"vpcEndpointId":"`...)
		b = append(b, c.vpce...)
		b = append(b, '"')
	}
	if c.data {
		b = append(b, `,"eventCategory":"Data"`...)
	} else {
		b = append(b, `,"eventCategory":"Management"`...)
	}
	if c.mode != modeService {
		if c.tls12 {
			b = append(b, `,"tlsDetails":{"tlsVersion":"TLSv1.2","cipherSuite":"ECDHE-RSA-AES128-GCM-SHA256","clientProvidedHostHeader":"`...)
		} else {
			b = append(b, `,"tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"`...)
		}
		if c.host != "" {
			b = append(b, c.host...)
		} else {
			b = append(b, c.source[:len(c.source)-len(".amazonaws.com")]...)
			b = append(b, '.')
			b = append(b, c.region...)
			b = append(b, ".amazonaws.com"...)
		}
		b = append(b, `"}`...)
	}
	if c.console() && c.eventType != "AwsConsoleSignIn" {
		b = append(b, `,"sessionCredentialFromConsole":"true"`...)
	}
	b = append(b, '}')
	s := &g.scratch
	s.out, s.req, s.resp, s.res, s.add = b, c.req.b, c.resp.b, c.res.b, c.add.b
	return bytes.Clone(b)
}

func (c *call) appendIdentity(b []byte) []byte {
	if c.identity != "" {
		return append(b, c.identity...)
	}
	p, a := c.p, c.acct
	switch c.mode {
	case modeService:
		b = append(b, `{"type":"AWSService","invokedBy":"`...)
		b = append(b, c.service...)
		return append(b, `"}`...)
	case modeUserKey:
		b = append(b, `{"type":"IAMUser","principalId":"`...)
		b = append(b, p.principalID...)
		b = append(b, `","arn":"`...)
		b = append(b, p.arn...)
		b = append(b, `","accountId":"`...)
		if c.home != nil {
			a = c.home
		}
		b = append(b, a.id...)
		b = append(b, `","accessKeyId":"`...)
		b = append(b, p.key...)
		b = append(b, `","userName":"`...)
		b = append(b, p.name...)
		return append(b, `"}`...)
	}
	length := time.Hour
	if c.console() {
		length = 8 * time.Hour
	}
	key, created := p.sessionAt(c.t, length)
	b = append(b, p.idHead...)
	b = append(b, key[:]...)
	b = append(b, p.idMid...)
	b = appendTime(b, created)
	return append(b, p.idTail...)
}
