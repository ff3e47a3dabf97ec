package gen

import (
	"math/rand/v2"
	"strconv"
	"time"
)

// mode is how a principal is calling: it decides the userIdentity shape,
// the client and whether the record is marked as a console session.
type mode int

const (
	modeUserKey     mode = iota // IAM user, long-term AKIA key (CLI, SDKs, Terraform)
	modeUserConsole             // IAM user in the console: ASIA session key
	modeRole                    // assumed role via SDK/CLI (automation or a person)
	modeRoleConsole             // assumed role (SSO / switch role) in the console
	modeRootConsole             // root in the console: ASIA key, sessionCredentialFromConsole
	modeService                 // an AWS service acting (type AWSService, invokedBy)
)

// principal is an IAM user, a role (with its usual session), root or a
// service. Fields are escaped for JSON once, here.
type principal struct {
	name        string // userName, role name, or service host
	session     string // role session name
	principalID string // AIDA…, AROA…, or the account ID for root
	arn         string // user/role/root ARN
	key         string // AKIA… for users
	ip          string // where this principal usually calls from
	mfa         bool
	seed        uint64 // derives session keys and creation times
	ec2         bool   // an EC2 instance role (ec2RoleDelivery)
	lambda      bool   // a Lambda execution role
	// JSON fragments for session identities, split around the parts that
	// change per session (access key, creation date).
	idHead, idMid, idTail string
}

type account struct {
	id      string
	company string
	humans  []*principal // IAM users who are people
	bots    []*principal // IAM users for automation (ci, terraform)
	people  []*principal // roles people assume (SSO, Admin, ReadOnly)
	auto    []*principal // roles automation assumes (lambda, ec2, ci)
	root    *principal
	buckets []string
	tables  []string
	trail   string
	regions []*regional // parallel to Generator.regions
}

// regional holds an account's resources in one region.
type regional struct {
	instances []string
	groups    []string
	vpc       string
	subnets   []string
	amis      []string
	keys      []string // KMS key IDs
	keyARNs   []string
	functions []string
}

var (
	humanNames = []string{"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan",
		"judy", "mallory", "niaj", "olivia", "peggy", "rupert", "sybil", "trent", "victor", "walter", "yasmin"}
	botNames   = []string{"ci-deploy", "terraform", "backup-agent", "grafana-reader", "jenkins", "datadog-integration"}
	companies  = []string{"acme", "globex", "initech", "umbrella", "hooli", "stark", "wayne", "tyrell", "cyberdyne", "soylent"}
	peopleRole = []string{"Admin", "ReadOnly", "DevOps", "SecurityAudit", "AWSReservedSSO_AdministratorAccess_", "AWSReservedSSO_PowerUserAccess_", "AWSReservedSSO_ReadOnlyAccess_"}
	autoRoles  = []struct{ name, session string }{
		{"orders-processor-role", "orders-processor"},
		{"thumbnailer-lambda-role", "thumbnailer"},
		{"app-server-instance-role", ""}, // EC2: session is the instance ID
		{"batch-worker-instance-role", ""},
		{"github-actions-deploy", "GitHubActions"},
		{"ecs-task-api", "api-task"},
		{"eks-node-group-role", ""},
		{"data-pipeline-role", "airflow"},
	}
	bucketPurposes = []string{"assets", "logs", "backups", "data-lake-raw", "data-lake-curated", "uploads", "terraform-state", "cloudtrail", "athena-results", "static-site"}
	tableNames     = []string{"orders", "sessions", "inventory", "users", "feature-flags", "payments", "audit-events", "carts"}
	functionNames  = []string{"orders-processor", "thumbnailer", "nightly-report", "slack-notifier", "image-resize"}
)

// Public first octets that look like home, office and cloud addresses.
var (
	clientNets = []int{24, 31, 37, 46, 62, 73, 81, 86, 98, 104, 108, 142, 173, 176, 185, 188, 203, 212, 217}
	awsNets    = []int{3, 13, 18, 34, 35, 44, 52, 54}
)

func ipIn(r *rand.Rand, nets []int) string {
	return strconv.Itoa(pickR(r, nets)) + "." + strconv.Itoa(r.IntN(256)) + "." + strconv.Itoa(r.IntN(256)) + "." + strconv.Itoa(1+r.IntN(254))
}

func pickR[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

func newAccount(r *rand.Rand, id string, index int, regions []string) *account {
	a := &account{id: id, company: pickR(r, companies)}
	nHumans, nBots := 3, 2
	if index == 0 {
		nHumans, nBots = 7, 3
	}
	for _, i := range r.Perm(len(humanNames))[:nHumans] {
		a.humans = append(a.humans, a.user(r, humanNames[i], ipIn(r, clientNets), r.IntN(4) != 0))
	}
	for _, i := range r.Perm(len(botNames))[:nBots] {
		a.bots = append(a.bots, a.user(r, botNames[i], ipIn(r, awsNets), false))
	}
	for _, i := range r.Perm(len(peopleRole))[:4] {
		name := peopleRole[i]
		if name[len(name)-1] == '_' {
			name += hexID(r, "", 16)
		}
		// A person's session is named after them.
		who := pickR(r, humanNames)
		session := who
		if len(name) > 15 && name[:15] == "AWSReservedSSO_" {
			session = who + "@" + a.company + ".com"
		}
		p := a.role(r, name, session, ipIn(r, clientNets))
		p.mfa = r.IntN(3) != 0
		p.renderRole(id)
		a.people = append(a.people, p)
	}
	for _, ar := range autoRoles {
		session := ar.session
		p := a.role(r, ar.name, session, ipIn(r, awsNets))
		if session == "" {
			p.ec2 = true
			p.session = hexID(r, "i-0", 16)
			p.renderRole(id)
		}
		p.lambda = ar.name == "orders-processor-role" || ar.name == "thumbnailer-lambda-role"
		a.auto = append(a.auto, p)
	}
	a.root = &principal{name: "root", principalID: id, arn: "arn:aws:iam::" + id + ":root", ip: ipIn(r, clientNets), mfa: true, seed: r.Uint64()}
	a.root.idHead = `{"type":"Root","principalId":"` + id + `","arn":"arn:aws:iam::` + id + `:root","accountId":"` + id + `","accessKeyId":"`
	a.root.idMid = `","sessionContext":{"sessionIssuer":{},"webIdFederationData":{},"attributes":{"creationDate":"`
	a.root.idTail = `","mfaAuthenticated":"true"}}}`

	suffix := id[len(id)-6:]
	for _, i := range r.Perm(len(bucketPurposes))[:6] {
		a.buckets = append(a.buckets, a.company+"-"+bucketPurposes[i]+"-"+suffix)
	}
	for _, i := range r.Perm(len(tableNames))[:4] {
		a.tables = append(a.tables, tableNames[i])
	}
	a.trail = pickR(r, []string{"management-events", "org-trail", a.company + "-audit"})
	for _, region := range regions {
		rr := &regional{vpc: hexID(r, "vpc-0", 16)}
		for range 24 {
			rr.instances = append(rr.instances, hexID(r, "i-0", 16))
		}
		for range 6 {
			rr.groups = append(rr.groups, hexID(r, "sg-0", 16))
		}
		for range 3 {
			rr.subnets = append(rr.subnets, hexID(r, "subnet-0", 16))
			rr.amis = append(rr.amis, hexID(r, "ami-0", 16))
		}
		for range 4 {
			key := string(appendUUID(nil, r))
			rr.keys = append(rr.keys, key)
			rr.keyARNs = append(rr.keyARNs, "arn:aws:kms:"+region+":"+id+":key/"+key)
		}
		rr.functions = functionNames
		a.regions = append(a.regions, rr)
	}
	return a
}

func (a *account) user(r *rand.Rand, name, ip string, mfa bool) *principal {
	p := &principal{
		name:        name,
		principalID: ident(r, "AIDA", 17),
		arn:         "arn:aws:iam::" + a.id + ":user/" + name,
		key:         ident(r, "AKIA", 16),
		ip:          ip,
		mfa:         mfa,
		seed:        r.Uint64(),
	}
	// Console sessions of IAM users carry an empty session issuer.
	p.idHead = `{"type":"IAMUser","principalId":"` + p.principalID + `","arn":"` + p.arn + `","accountId":"` + a.id + `","accessKeyId":"`
	p.idMid = `","userName":"` + name + `","sessionContext":{"sessionIssuer":{},"webIdFederationData":{},"attributes":{"creationDate":"`
	p.idTail = `","mfaAuthenticated":"` + strconv.FormatBool(mfa) + `"}}}`
	return p
}

func (a *account) role(r *rand.Rand, name, session, ip string) *principal {
	p := &principal{
		name:        name,
		session:     session,
		principalID: ident(r, "AROA", 17),
		arn:         "arn:aws:iam::" + a.id + ":role/" + name,
		ip:          ip,
		seed:        r.Uint64(),
	}
	p.renderRole(a.id)
	return p
}

func (p *principal) renderRole(acct string) {
	p.idHead = `{"type":"AssumedRole","principalId":"` + p.principalID + `:` + esc(p.session) + `","arn":"arn:aws:sts::` + acct +
		`:assumed-role/` + p.name + `/` + esc(p.session) + `","accountId":"` + acct + `","accessKeyId":"`
	p.idMid = `","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"` + p.principalID + `","arn":"` + p.arn +
		`","accountId":"` + acct + `","userName":"` + p.name + `"},"webIdFederationData":{},"attributes":{"creationDate":"`
	tail := `","mfaAuthenticated":"` + strconv.FormatBool(p.mfa) + `"}`
	if p.ec2 {
		tail += `,"ec2RoleDelivery":"2.0"`
	}
	p.idTail = tail + `}}`
}

// session returns the temporary key and creation time of p's session that
// is current at t. Sessions are fixed-length buckets offset per principal,
// so consecutive calls share a key and creationDate as real sessions do.
func (p *principal) sessionAt(t time.Time, length time.Duration) (key [20]byte, created time.Time) {
	off := time.Duration(p.seed%uint64(length/time.Second)) * time.Second
	bucket := t.Add(-off).Unix() / int64(length/time.Second)
	created = time.Unix(bucket*int64(length/time.Second), 0).Add(off).UTC()
	copy(key[:], "ASIA")
	x := mix(p.seed ^ uint64(bucket))
	for i := 4; i < 20; i++ {
		key[i] = base32Upper[x&31]
		x >>= 5
		if i == 15 {
			x = mix(x ^ p.seed)
		}
	}
	return key, created
}
