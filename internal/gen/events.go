package gen

import (
	"strconv"
	"strings"
	"time"
)

// op is one kind of call and how often it happens relative to the others.
type op struct {
	weight int
	kind   opKind
}

type opKind int

const (
	opDescribeInstances opKind = iota
	opRunInstances
	opTerminateInstances
	opAuthorizeIngress
	opRevokeIngress
	opCreateTags
	opDeleteTags
	opListBuckets
	opCreateBucket
	opPutBucketEncryption
	opPutBucketPolicy
	opGetObject
	opPutObject
	opCreateUser
	opAttachUserPolicy
	opCreateAccessKey
	opDescribeTable
	opCreateTable
	opDeleteTable
	opDecrypt
	opGenerateDataKey
	opCreateKey
	opAssumeRole
	opGetCallerIdentity
	opDescribeTrails
	opLookupEvents
	opStopLogging
	opConsoleLogin
)

// catalogue is the traffic mix: reads dominate, as they do in real
// accounts; KMS and STS are chatty; S3 object reads and writes are data
// events; risky writes (security groups, IAM, DeleteTable, StopLogging) are
// present but rare. Weights are per ~10,000 calls.
func catalogue() []op {
	return []op{
		{1200, opDescribeInstances},
		{120, opRunInstances},
		{80, opTerminateInstances},
		{60, opAuthorizeIngress},
		{40, opRevokeIngress},
		{150, opCreateTags},
		{50, opDeleteTags},
		{400, opListBuckets},
		{40, opCreateBucket},
		{30, opPutBucketEncryption},
		{30, opPutBucketPolicy},
		{1100, opGetObject},
		{500, opPutObject},
		{30, opCreateUser},
		{30, opAttachUserPolicy},
		{30, opCreateAccessKey},
		{400, opDescribeTable},
		{30, opCreateTable},
		{20, opDeleteTable},
		{1500, opDecrypt},
		{800, opGenerateDataKey},
		{20, opCreateKey},
		{1200, opAssumeRole},
		{600, opGetCallerIdentity},
		{100, opDescribeTrails},
		{100, opLookupEvents},
		{2, opStopLogging},
		{250, opConsoleLogin},
	}
}

// run dispatches statically (not through func values) so that the call
// does not escape to the heap.
func (c *call) run(k opKind) {
	switch k {
	case opDescribeInstances:
		c.describeInstances()
	case opRunInstances:
		c.runInstances()
	case opTerminateInstances:
		c.terminateInstances()
	case opAuthorizeIngress:
		c.authorizeIngress()
	case opRevokeIngress:
		c.revokeIngress()
	case opCreateTags:
		c.createTags()
	case opDeleteTags:
		c.deleteTags()
	case opListBuckets:
		c.listBuckets()
	case opCreateBucket:
		c.createBucket()
	case opPutBucketEncryption:
		c.putBucketEncryption()
	case opPutBucketPolicy:
		c.putBucketPolicy()
	case opGetObject:
		c.getObject()
	case opPutObject:
		c.putObject()
	case opCreateUser:
		c.createUser()
	case opAttachUserPolicy:
		c.attachUserPolicy()
	case opCreateAccessKey:
		c.createAccessKey()
	case opDescribeTable:
		c.describeTable()
	case opCreateTable:
		c.createTable()
	case opDeleteTable:
		c.deleteTable()
	case opDecrypt:
		c.decrypt()
	case opGenerateDataKey:
		c.generateDataKey()
	case opCreateKey:
		c.createKey()
	case opAssumeRole:
		c.assumeRole()
	case opGetCallerIdentity:
		c.getCallerIdentity()
	case opDescribeTrails:
		c.describeTrails()
	case opLookupEvents:
		c.lookupEvents()
	case opStopLogging:
		c.stopLogging()
	case opConsoleLogin:
		c.consoleLogin()
	default:
		panic("gen: unknown op")
	}
}

// requestUUID returns the call's requestID, drawing it on first use so
// that EC2's responseElements.requestId can repeat it.
func (c *call) requestUUID() []byte {
	if !c.hasRID {
		appendUUID(c.rid[:0], c.g.rng)
		c.hasRID = true
	}
	return c.rid[:]
}

func (c *call) uuid() string { return string(appendUUID(make([]byte, 0, 36), c.g.rng)) }

// --- EC2 ---

func (c *call) ec2ARN(kind, id string) string {
	return "arn:aws:ec2:" + c.region + ":" + c.acct.id + ":" + kind + "/" + id
}

func (c *call) describeInstances() {
	c.svc("ec2.amazonaws.com", "DescribeInstances")
	c.readOnly = true
	c.asAnyone(0.35)
	r, g := &c.req, c.g
	r.b = append(r.b, '{')
	switch g.intn(3) {
	case 0:
		r.int("maxResults", 1000)
		r.empty("instancesSet")
		r.empty("filterSet")
	case 1:
		r.obj("instancesSet")
		r.arr("items")
		for range 1 + g.intn(3) {
			r.elem()
			r.strs("instanceId", pick(g, c.reg.instances))
			r.end()
		}
		r.endArr()
		r.end()
		r.empty("filterSet")
	default:
		r.empty("instancesSet")
		r.obj("filterSet")
		r.arr("items")
		ec2Filter(r, "instance-state-name", "running")
		ec2Filter(r, "tag:Environment", pick(g, []string{"production", "staging", "dev"}))
		r.endArr()
		r.end()
	}
	r.end()
	c.maybeDenied("ec2:DescribeInstances", constant("*"))
}

func ec2Filter(r *jw, name, value string) {
	r.elem()
	r.strs("name", name)
	r.obj("valueSet")
	r.arr("items")
	r.elem()
	r.strs("value", value)
	r.end()
	r.endArr()
	r.end()
	r.end()
}

var instanceTypes = []string{"t3.micro", "t3.medium", "m6i.large", "m6i.xlarge", "c6g.2xlarge", "r6i.large", "t4g.small"}

func (c *call) runInstances() {
	c.svc("ec2.amazonaws.com", "RunInstances")
	c.asAnyone(0.4)
	g, r := c.g, &c.req
	n := 1
	if g.chance(0.1) {
		n = 2 + g.intn(3)
	}
	ami, itype := pick(g, c.reg.amis), pick(g, instanceTypes)
	sg, subnet := pick(g, c.reg.groups), pick(g, c.reg.subnets)
	name := pick(g, []string{"web", "api", "worker", "bastion", "batch"}) + "-" + strconv.Itoa(1+g.intn(40))
	token := c.uuid()
	r.b = append(r.b, '{')
	r.obj("instancesSet")
	r.arr("items")
	r.elem()
	r.strs("imageId", ami)
	r.int("minCount", int64(n))
	r.int("maxCount", int64(n))
	r.end()
	r.endArr()
	r.end()
	r.strs("instanceType", itype)
	r.empty("blockDeviceMapping")
	r.obj("monitoring")
	r.boolean("enabled", false)
	r.end()
	r.boolean("disableApiTermination", false)
	r.boolean("disableApiStop", false)
	r.strs("clientToken", token)
	r.obj("networkInterfaceSet")
	r.arr("items")
	r.elem()
	r.int("deviceIndex", 0)
	r.strs("subnetId", subnet)
	r.boolean("associatePublicIpAddress", true)
	r.obj("groupSet")
	r.arr("items")
	r.elem()
	r.strs("groupId", sg)
	r.end()
	r.endArr()
	r.end()
	r.end()
	r.endArr()
	r.end()
	r.obj("tagSpecificationSet")
	r.arr("items")
	r.elem()
	r.strs("resourceType", "instance")
	r.arr("tags")
	r.elem()
	r.strs("key", "Name")
	r.strs("value", name)
	r.end()
	r.endArr()
	r.end()
	r.endArr()
	r.end()
	r.end()
	if c.maybeDenied("ec2:RunInstances", func() string { return c.ec2ARN("instance", "*") }) {
		return
	}
	launch := c.t.UnixMilli()
	w := &c.resp
	w.b = append(w.b, '{')
	w.strBytes("requestId", c.requestUUID())
	w.strs("reservationId", hexID(g.rng, "r-0", 16))
	w.strs("ownerId", c.acct.id)
	w.empty("groupSet")
	w.obj("instancesSet")
	w.arr("items")
	c.res.b = append(c.res.b, '[')
	for k := range n {
		id := hexID(g.rng, "i-0", 16)
		ip := "10.0." + strconv.Itoa(g.intn(256)) + "." + strconv.Itoa(4+g.intn(250))
		dns := "ip-" + strings.ReplaceAll(ip, ".", "-") + "." + c.region + ".compute.internal"
		w.elem()
		w.strs("instanceId", id)
		w.strs("imageId", ami)
		w.strs("currentInstanceBootMode", "legacy-bios")
		w.raw("instanceState", `{"code":0,"name":"pending"}`)
		w.strs("privateDnsName", dns)
		w.int("amiLaunchIndex", int64(k))
		w.empty("productCodes")
		w.strs("instanceType", itype)
		w.int("launchTime", launch)
		w.obj("placement")
		w.strs("availabilityZone", c.region, "a")
		w.strs("tenancy", "default")
		w.end()
		w.raw("monitoring", `{"state":"disabled"}`)
		w.strs("subnetId", subnet)
		w.strs("vpcId", c.reg.vpc)
		w.strs("privateIpAddress", ip)
		w.raw("stateReason", `{"code":"pending","message":"pending"}`)
		w.strs("architecture", "x86_64")
		w.strs("rootDeviceType", "ebs")
		w.strs("rootDeviceName", "/dev/xvda")
		w.empty("blockDeviceMapping")
		w.strs("virtualizationType", "hvm")
		w.strs("hypervisor", "xen")
		w.raw("tagSet", `{"items":[{"key":"Name","value":"`+name+`"}]}`)
		w.strs("clientToken", token)
		w.raw("groupSet", `{"items":[{"groupId":"`+sg+`","groupName":"`+name[:strings.IndexByte(name, '-')]+`-sg"}]}`)
		w.boolean("sourceDestCheck", true)
		w.obj("networkInterfaceSet")
		w.arr("items")
		w.elem()
		w.strs("networkInterfaceId", hexID(g.rng, "eni-0", 16))
		w.strs("subnetId", subnet)
		w.strs("vpcId", c.reg.vpc)
		w.strs("ownerId", c.acct.id)
		w.strs("status", "in-use")
		w.strs("macAddress", "0a:"+hexID(g.rng, "", 2)+":"+hexID(g.rng, "", 2)+":"+hexID(g.rng, "", 2)+":"+hexID(g.rng, "", 2)+":"+hexID(g.rng, "", 2))
		w.strs("privateIpAddress", ip)
		w.strs("privateDnsName", dns)
		w.boolean("sourceDestCheck", true)
		w.strs("interfaceType", "interface")
		w.raw("groupSet", `{"items":[{"groupId":"`+sg+`","groupName":"default"}]}`)
		w.obj("attachment")
		w.strs("attachmentId", hexID(g.rng, "eni-attach-0", 16))
		w.int("deviceIndex", 0)
		w.int("networkCardIndex", 0)
		w.strs("status", "attaching")
		w.int("attachTime", launch)
		w.boolean("deleteOnTermination", true)
		w.end()
		w.raw("privateIpAddressesSet", `{"item":[{"privateIpAddress":"`+ip+`","privateDnsName":"`+dns+`","primary":true}]}`)
		w.empty("ipv6AddressesSet")
		w.empty("tagSet")
		w.end()
		w.endArr()
		w.end()
		w.boolean("ebsOptimized", false)
		w.boolean("enaSupport", true)
		w.raw("cpuOptions", `{"coreCount":1,"threadsPerCore":2}`)
		w.raw("capacityReservationSpecification", `{"capacityReservationPreference":"open"}`)
		w.raw("enclaveOptions", `{"enabled":false}`)
		w.raw("metadataOptions", `{"state":"pending","httpTokens":"required","httpPutResponseHopLimit":2,"httpEndpoint":"enabled","httpProtocolIpv4":"ipv4","httpProtocolIpv6":"disabled","instanceMetadataTags":"disabled"}`)
		w.raw("maintenanceOptions", `{"autoRecovery":"default"}`)
		w.raw("privateDnsNameOptions", `{"hostnameType":"ip-name","enableResourceNameDnsARecord":false,"enableResourceNameDnsAAAARecord":false}`)
		w.end()
		c.resource("AWS::EC2::Instance", c.ec2ARN("instance", id))
	}
	w.endArr()
	w.end()
	w.end()
	c.res.endArr()
}

// resource appends one resources[] entry; the key is upper-case ARN, as
// CloudTrail writes it.
func (c *call) resource(typ string, arn ...string) {
	r := &c.res
	if len(r.b) == 0 {
		r.b = append(r.b, '[')
	}
	r.elem()
	if typ != "AWS::S3::Object" { // AWS leaves accountId off object resources
		r.strs("accountId", c.acct.id)
	}
	r.strs("type", typ)
	r.strs("ARN", arn...)
	r.end()
}

// oneResource writes a complete one-element resources array.
func (c *call) oneResource(typ string, arn ...string) {
	c.resource(typ, arn...)
	c.res.endArr()
}

func (c *call) instanceItems(w *jw, id string) {
	w.obj("instancesSet")
	w.arr("items")
	w.elem()
	w.strs("instanceId", id)
}

func (c *call) terminateInstances() {
	c.svc("ec2.amazonaws.com", "TerminateInstances")
	c.asAnyone(0.4)
	id := pick(c.g, c.reg.instances)
	r := &c.req
	r.b = append(r.b, '{')
	c.instanceItems(r, id)
	r.end()
	r.endArr()
	r.end()
	r.end()
	if c.g.chance(0.02) {
		c.fail("Client.InvalidInstanceID.NotFound", "The instance ID '"+id+"' does not exist")
		return
	}
	if c.maybeDenied("ec2:TerminateInstances", func() string { return c.ec2ARN("instance", id) }) {
		return
	}
	w := &c.resp
	w.b = append(w.b, '{')
	w.strBytes("requestId", c.requestUUID())
	c.instanceItems(w, id)
	w.raw("currentState", `{"code":32,"name":"shutting-down"}`)
	w.raw("previousState", `{"code":16,"name":"running"}`)
	w.end()
	w.endArr()
	w.end()
	w.end()
}

var ingressPorts = []int64{22, 3389, 443, 80, 5432, 6379, 8080, 3306}

// ingressRequest writes an AuthorizeSecurityGroupIngress or
// RevokeSecurityGroupIngress request and returns what it opened.
func (c *call) ingressRequest() (sg string, port int64, cidr string) {
	g := c.g
	sg, port = pick(g, c.reg.groups), pick(g, ingressPorts)
	switch x := g.intn(4); {
	case x == 0:
		cidr = "0.0.0.0/0"
	case x == 1 && c.mode != modeService:
		cidr = c.ip + "/32"
	default:
		cidr = "10.0.0.0/16"
	}
	r := &c.req
	r.b = append(r.b, '{')
	r.strs("groupId", sg)
	r.obj("ipPermissions")
	r.arr("items")
	r.elem()
	r.strs("ipProtocol", "tcp")
	r.int("fromPort", port)
	r.int("toPort", port)
	r.empty("groups")
	r.obj("ipRanges")
	r.arr("items")
	r.elem()
	r.strs("cidrIp", cidr)
	r.end()
	r.endArr()
	r.end()
	r.empty("ipv6Ranges")
	r.empty("prefixListIds")
	r.end()
	r.endArr()
	r.end()
	r.end()
	return sg, port, cidr
}

func (c *call) authorizeIngress() {
	c.svc("ec2.amazonaws.com", "AuthorizeSecurityGroupIngress")
	c.asAnyone(0.6)
	sg, port, cidr := c.ingressRequest()
	if c.g.chance(0.04) {
		p := strconv.FormatInt(port, 10)
		c.fail("Client.InvalidPermission.Duplicate", `the specified rule "peer: `+cidr+`, TCP, from port: `+p+`, to port: `+p+`, ALLOW" already exists`)
		return
	}
	if c.maybeDenied("ec2:AuthorizeSecurityGroupIngress", func() string { return c.ec2ARN("security-group", sg) }) {
		return
	}
	w := &c.resp
	w.b = append(w.b, '{')
	w.strBytes("requestId", c.requestUUID())
	w.boolean("_return", true)
	w.obj("securityGroupRuleSet")
	w.arr("items")
	w.elem()
	w.strs("groupOwnerId", c.acct.id)
	w.strs("groupId", sg)
	w.strs("securityGroupRuleId", hexID(c.g.rng, "sgr-0", 16))
	w.boolean("isEgress", false)
	w.strs("ipProtocol", "tcp")
	w.int("fromPort", port)
	w.int("toPort", port)
	w.strs("cidrIpv4", cidr)
	w.end()
	w.endArr()
	w.end()
	w.end()
}

func (c *call) revokeIngress() {
	c.svc("ec2.amazonaws.com", "RevokeSecurityGroupIngress")
	c.asAnyone(0.6)
	sg, _, _ := c.ingressRequest()
	if c.maybeDenied("ec2:RevokeSecurityGroupIngress", func() string { return c.ec2ARN("security-group", sg) }) {
		return
	}
	w := &c.resp
	w.b = append(w.b, '{')
	w.strBytes("requestId", c.requestUUID())
	w.boolean("_return", true)
	w.end()
}

var tagKeys = []struct {
	key    string
	values []string
}{
	{"Environment", []string{"production", "staging", "dev"}},
	{"Owner", humanNames},
	{"CostCenter", []string{"cc-1042", "cc-2210", "cc-3307"}},
	{"Team", []string{"platform", "payments", "data", "security"}},
}

func (c *call) tags(name string, values bool) {
	g, r := c.g, &c.req
	id := pick(g, c.reg.instances)
	r.b = append(r.b, '{')
	r.obj("resourcesSet")
	r.arr("items")
	r.elem()
	r.strs("resourceId", id)
	r.end()
	r.endArr()
	r.end()
	r.obj("tagSet")
	r.arr("items")
	for _, i := range g.rng.Perm(len(tagKeys))[:1+g.intn(2)] {
		r.elem()
		r.strs("key", tagKeys[i].key)
		if values {
			r.strs("value", pick(g, tagKeys[i].values))
		}
		r.end()
	}
	r.endArr()
	r.end()
	r.end()
	if c.maybeDenied("ec2:"+name, func() string { return c.ec2ARN("instance", id) }) {
		return
	}
	w := &c.resp
	w.b = append(w.b, '{')
	w.strBytes("requestId", c.requestUUID())
	w.boolean("_return", true)
	w.end()
}

func (c *call) createTags() {
	c.svc("ec2.amazonaws.com", "CreateTags")
	c.asAnyone(0.3)
	c.tags("CreateTags", true)
}

func (c *call) deleteTags() {
	c.svc("ec2.amazonaws.com", "DeleteTags")
	c.asAnyone(0.5)
	c.tags("DeleteTags", false)
}

// --- S3 ---

func (c *call) s3Host(bucket string) string {
	if c.region == "us-east-1" {
		if bucket == "" {
			return "s3.amazonaws.com"
		}
		return bucket + ".s3.amazonaws.com"
	}
	if bucket == "" {
		return "s3." + c.region + ".amazonaws.com"
	}
	return bucket + ".s3." + c.region + ".amazonaws.com"
}

// s3Call sets what every S3 record shares: S3 request IDs, the host and
// the additionalEventData block with transfer sizes.
func (c *call) s3Call(name, bucket string, in, out int64) {
	c.requestID = idS3
	c.host = c.s3Host(bucket)
	a := &c.add
	a.b = append(a.b, '{')
	a.strs("SignatureVersion", "SigV4")
	if c.tls12 {
		a.strs("CipherSuite", "ECDHE-RSA-AES128-GCM-SHA256")
	} else {
		a.strs("CipherSuite", "TLS_AES_128_GCM_SHA256")
	}
	a.int("bytesTransferredIn", in)
	a.strs("AuthenticationMethod", "AuthHeader")
	a.strs("x-amz-id-2", c.g.token(76))
	a.int("bytesTransferredOut", out)
	a.end()
}

func (c *call) s3Request(bucket string) {
	r := &c.req
	r.b = append(r.b, '{')
	r.strs("bucketName", bucket)
	r.strs("Host", c.host)
}

func (c *call) listBuckets() {
	c.svc("s3.amazonaws.com", "ListBuckets")
	c.readOnly = true
	c.asAnyone(0.5)
	c.s3Call("ListBuckets", "", 0, int64(400+c.g.intn(3000)))
	r := &c.req
	r.b = append(r.b, '{')
	r.strs("Host", c.host)
	r.end()
	c.maybeDenied("s3:ListAllMyBuckets", constant("*"))
}

func (c *call) createBucket() {
	c.svc("s3.amazonaws.com", "CreateBucket")
	c.asAnyone(0.5)
	g := c.g
	bucket := c.acct.company + "-" + pick(g, bucketPurposes) + "-" + strconv.Itoa(10000+g.intn(90000))
	c.s3Call("CreateBucket", bucket, 0, 0)
	r := &c.req
	r.b = append(r.b, '{')
	if c.region != "us-east-1" {
		r.obj("CreateBucketConfiguration")
		r.strs("LocationConstraint", c.region)
		r.strs("xmlns", "http://s3.amazonaws.com/doc/2006-03-01/")
		r.end()
	}
	r.strs("bucketName", bucket)
	r.strs("Host", c.host)
	r.end()
	c.oneResource("AWS::S3::Bucket", "arn:aws:s3:::", bucket)
	if g.chance(0.03) {
		c.fail("BucketAlreadyExists", "The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.")
		return
	}
	c.maybeDenied("s3:CreateBucket", func() string { return "arn:aws:s3:::" + bucket })
}

func (c *call) putBucketEncryption() {
	c.svc("s3.amazonaws.com", "PutBucketEncryption")
	c.asAnyone(0.5)
	g := c.g
	bucket := pick(g, c.acct.buckets)
	c.s3Call("PutBucketEncryption", bucket, 0, 0)
	c.s3Request(bucket)
	r := &c.req
	r.strs("encryption", "")
	r.obj("ServerSideEncryptionConfiguration")
	r.strs("xmlns", "http://s3.amazonaws.com/doc/2006-03-01/")
	r.obj("Rule")
	r.obj("ApplyServerSideEncryptionByDefault")
	if g.chance(0.6) {
		r.strs("SSEAlgorithm", "aws:kms")
		r.strs("KMSMasterKeyID", "arn:aws:kms:", c.region, ":", c.acct.id, ":key/", pick(g, c.reg.keys))
		r.end()
		r.boolean("BucketKeyEnabled", true)
	} else {
		r.strs("SSEAlgorithm", "AES256")
		r.end()
	}
	r.end()
	r.end()
	r.end()
	c.oneResource("AWS::S3::Bucket", "arn:aws:s3:::", bucket)
	c.maybeDenied("s3:PutEncryptionConfiguration", func() string { return "arn:aws:s3:::" + bucket })
}

func (c *call) putBucketPolicy() {
	c.svc("s3.amazonaws.com", "PutBucketPolicy")
	c.asAnyone(0.5)
	g := c.g
	bucket := pick(g, c.acct.buckets)
	c.s3Call("PutBucketPolicy", bucket, 0, 0)
	c.s3Request(bucket)
	r := &c.req
	arn := "arn:aws:s3:::" + bucket
	r.obj("bucketPolicy")
	r.strs("Version", "2012-10-17")
	r.arr("Statement")
	r.elem()
	r.strs("Sid", "AWSCloudTrailAclCheck")
	r.strs("Effect", "Allow")
	r.raw("Principal", `{"Service":"cloudtrail.amazonaws.com"}`)
	r.strs("Action", "s3:GetBucketAcl")
	r.strs("Resource", arn)
	r.end()
	r.elem()
	r.strs("Sid", "AWSCloudTrailWrite")
	r.strs("Effect", "Allow")
	r.raw("Principal", `{"Service":"cloudtrail.amazonaws.com"}`)
	r.strs("Action", "s3:PutObject")
	r.strs("Resource", arn, "/AWSLogs/", c.acct.id, "/*")
	r.raw("Condition", `{"StringEquals":{"s3:x-amz-acl":"bucket-owner-full-control"}}`)
	r.end()
	r.elem()
	r.strs("Sid", "DenyInsecureTransport")
	r.strs("Effect", "Deny")
	r.raw("Principal", `"*"`)
	r.strs("Action", "s3:*")
	r.raw("Resource", `["`+arn+`","`+arn+`/*"]`)
	r.raw("Condition", `{"Bool":{"aws:SecureTransport":"false"}}`)
	r.end()
	if g.chance(0.25) {
		// Cross-account read for a whole organisation: the rare big record.
		r.elem()
		r.strs("Sid", "OrgAccountsRead")
		r.strs("Effect", "Allow")
		r.obj("Principal")
		r.arr("AWS")
		for range 20 + g.intn(100) {
			r.elemStr("arn:aws:iam::" + strconv.FormatInt(100000000000+g.rng.Int64N(899999999999), 10) + ":root")
		}
		r.endArr()
		r.end()
		r.raw("Action", `["s3:GetObject","s3:ListBucket"]`)
		r.raw("Resource", `["`+arn+`","`+arn+`/*"]`)
		r.end()
	}
	r.endArr()
	r.end()
	r.strs("policy", "")
	r.end()
	c.oneResource("AWS::S3::Bucket", arn)
	c.maybeDenied("s3:PutBucketPolicy", func() string { return arn })
}

func (c *call) objectKey() string {
	g := c.g
	var a [128]byte
	b := a[:0]
	switch g.intn(5) {
	case 0:
		b = append(b, "logs/"...)
		b = appendDate(b, c.t, '/')
		b = append(b, "/app-"...)
		b = strconv.AppendInt(b, int64(g.intn(64)), 10)
		b = append(b, ".json.gz"...)
	case 1:
		b = append(b, "uploads/"...)
		b = appendUUID(b, g.rng)
		b = append(b, ".jpg"...)
	case 2:
		date := appendDate(a[100:100], c.t, '-')
		b = append(b, "data/year="...)
		b = append(b, date[:4]...)
		b = append(b, "/month="...)
		b = append(b, date[5:7]...)
		b = append(b, "/part-"...)
		b = strconv.AppendInt(b, int64(10000+g.intn(90000)), 10)
		b = append(b, '-')
		b = appendUUID(b, g.rng)
		b = append(b, ".snappy.parquet"...)
	case 3:
		b = append(b, "backups/db/"...)
		b = appendDate(b, c.t, '-')
		b = append(b, "/dump.sql.gz"...)
	default:
		b = append(b, "assets/app."...)
		b = appendHex(b, g.rng.Uint64(), 8)
		b = append(b, ".js"...)
	}
	return string(b)
}

// appendDate appends t's UTC date as YYYY<sep>MM<sep>DD.
func appendDate(b []byte, t time.Time, sep byte) []byte {
	y, m, d := t.UTC().Date()
	return append(b, byte('0'+y/1000%10), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), sep,
		byte('0'+int(m)/10), byte('0'+int(m)%10), sep, byte('0'+d/10), byte('0'+d%10))
}

// dataCaller picks who reads and writes objects: mostly automation, part of
// it through a VPC endpoint (private source address).
func (c *call) dataCaller() {
	c.data = true
	c.asAnyone(0.15)
	if !c.console() && c.mode != modeUserKey && c.g.chance(0.3) {
		c.vpce = hexID(c.g.rng, "vpce-0", 16)
		c.ip = "10." + strconv.Itoa(c.g.intn(256)) + "." + strconv.Itoa(c.g.intn(256)) + "." + strconv.Itoa(1+c.g.intn(254))
	}
}

func (c *call) objectCall(name string, in, out int64) (bucket, key string) {
	bucket, key = pick(c.g, c.acct.buckets), c.objectKey()
	c.s3Call(name, bucket, in, out)
	c.s3Request(bucket)
	c.req.str("key", key)
	return bucket, key
}

func (c *call) getObject() {
	c.svc("s3.amazonaws.com", "GetObject")
	c.readOnly = true
	c.dataCaller()
	bucket, key := c.objectCall("GetObject", 0, int64(200+c.g.intn(5<<20)))
	c.req.end()
	c.resource("AWS::S3::Object", "arn:aws:s3:::", bucket, "/", esc(key))
	c.oneResource("AWS::S3::Bucket", "arn:aws:s3:::", bucket)
	if c.g.chance(0.02) {
		c.fail("NoSuchKey", "The specified key does not exist.")
		return
	}
	c.maybeDenied("s3:GetObject", func() string { return "arn:aws:s3:::" + bucket + "/" + key })
}

func (c *call) putObject() {
	c.svc("s3.amazonaws.com", "PutObject")
	c.dataCaller()
	bucket, key := c.objectCall("PutObject", int64(200+c.g.intn(5<<20)), 0)
	kms := c.g.chance(0.5)
	if kms {
		c.req.strs("x-amz-server-side-encryption", "aws:kms")
	}
	c.req.end()
	c.resource("AWS::S3::Object", "arn:aws:s3:::", bucket, "/", esc(key))
	c.oneResource("AWS::S3::Bucket", "arn:aws:s3:::", bucket)
	if c.maybeDenied("s3:PutObject", func() string { return "arn:aws:s3:::" + bucket + "/" + key }) {
		return
	}
	w := &c.resp
	w.b = append(w.b, '{')
	if kms {
		w.strs("x-amz-server-side-encryption", "aws:kms")
		w.strs("x-amz-server-side-encryption-aws-kms-key-id", "arn:aws:kms:", c.region, ":", c.acct.id, ":key/", pick(c.g, c.reg.keys))
		w.strs("x-amz-server-side-encryption-bucket-key-enabled", "true")
	} else {
		w.strs("x-amz-server-side-encryption", "AES256")
	}
	w.end()
}

// --- IAM (global: recorded in us-east-1) ---

func (c *call) iamCall(name string) {
	c.svc("iam.amazonaws.com", name)
	c.global()
	c.host = "iam.amazonaws.com"
	c.asAnyone(0.7)
}

var managedPolicies = []string{"AdministratorAccess", "ReadOnlyAccess", "AmazonS3FullAccess", "AmazonEC2ReadOnlyAccess", "PowerUserAccess", "SecurityAudit"}

func (c *call) newUserName() string {
	return pick(c.g, humanNames) + "." + pick(c.g, []string{"admin", "dev", "ops", "contractor", "test"})
}

func (c *call) createUser() {
	c.iamCall("CreateUser")
	name := c.newUserName()
	r := &c.req
	r.b = append(r.b, '{')
	r.strs("userName", name)
	tagged := c.g.chance(0.4)
	if tagged {
		r.raw("tags", `[{"key":"team","value":"`+pick(c.g, tagKeys[3].values)+`"}]`)
	}
	r.end()
	if c.g.chance(0.03) {
		c.fail("EntityAlreadyExists", "User with name "+name+" already exists.")
		return
	}
	if c.maybeDenied("iam:CreateUser", func() string { return "arn:aws:iam::" + c.acct.id + ":user/" + name }) {
		return
	}
	w := &c.resp
	w.b = append(w.b, '{')
	w.obj("user")
	w.strs("path", "/")
	w.strs("userName", name)
	w.strs("userId", ident(c.g.rng, "AIDA", 17))
	w.strs("arn", "arn:aws:iam::", c.acct.id, ":user/", name)
	w.awsDate("createDate", c.t)
	w.end()
	w.end()
}

func (c *call) attachUserPolicy() {
	c.iamCall("AttachUserPolicy")
	name := pick(c.g, c.acct.humans).name
	r := &c.req
	r.b = append(r.b, '{')
	r.strs("userName", name)
	if c.g.chance(0.8) {
		r.strs("policyArn", "arn:aws:iam::aws:policy/", pick(c.g, managedPolicies))
	} else {
		r.strs("policyArn", "arn:aws:iam::", c.acct.id, ":policy/deploy-policy")
	}
	r.end()
	c.maybeDenied("iam:AttachUserPolicy", func() string { return "arn:aws:iam::" + c.acct.id + ":user/" + name })
}

func (c *call) createAccessKey() {
	c.iamCall("CreateAccessKey")
	name := pick(c.g, append(c.acct.humans[:len(c.acct.humans):len(c.acct.humans)], c.acct.bots...)).name
	r := &c.req
	r.b = append(r.b, '{')
	r.strs("userName", name)
	r.end()
	if c.maybeDenied("iam:CreateAccessKey", func() string { return "arn:aws:iam::" + c.acct.id + ":user/" + name }) {
		return
	}
	w := &c.resp
	w.b = append(w.b, '{')
	w.obj("accessKey")
	w.strs("userName", name)
	w.strs("accessKeyId", ident(c.g.rng, "AKIA", 16))
	w.strs("status", "Active")
	w.awsDate("createDate", c.t)
	w.end()
	w.end()
}

// --- DynamoDB ---

func (c *call) dynamoCall(name string, people float64) {
	c.svc("dynamodb.amazonaws.com", name)
	c.apiVersion = "2012-08-10"
	c.requestID = idDynamo
	c.asAnyone(people)
}

func (c *call) tableARN(table string) string {
	return "arn:aws:dynamodb:" + c.region + ":" + c.acct.id + ":table/" + table
}

func (c *call) describeTable() {
	c.dynamoCall("DescribeTable", 0.2)
	c.readOnly = true
	table := pick(c.g, c.acct.tables)
	c.req.b = append(c.req.b, `{"tableName":"`+table+`"}`...)
	c.oneResource("AWS::DynamoDB::Table", c.tableARN(table))
	if c.g.chance(0.02) {
		c.fail("ResourceNotFoundException", "Requested resource not found: Table: "+table+" not found")
		return
	}
	c.maybeDenied("dynamodb:DescribeTable", func() string { return c.tableARN(table) })
}

const keySchema = `[{"attributeName":"pk","keyType":"HASH"},{"attributeName":"sk","keyType":"RANGE"}]`
const attrDefs = `[{"attributeName":"pk","attributeType":"S"},{"attributeName":"sk","attributeType":"S"}]`

func (c *call) createTable() {
	c.dynamoCall("CreateTable", 0.4)
	table := pick(c.g, tableNames) + "-" + pick(c.g, []string{"prod", "staging", "dev"})
	r := &c.req
	r.b = append(r.b, '{')
	r.raw("attributeDefinitions", attrDefs)
	r.strs("tableName", table)
	r.raw("keySchema", keySchema)
	r.strs("billingMode", "PAY_PER_REQUEST")
	r.boolean("deletionProtectionEnabled", false)
	r.end()
	c.oneResource("AWS::DynamoDB::Table", c.tableARN(table))
	if c.g.chance(0.03) {
		c.fail("ResourceInUseException", "Table already exists: "+table)
		return
	}
	if c.maybeDenied("dynamodb:CreateTable", func() string { return c.tableARN(table) }) {
		return
	}
	w := &c.resp
	w.b = append(w.b, '{')
	w.obj("tableDescription")
	w.raw("attributeDefinitions", attrDefs)
	w.strs("tableName", table)
	w.raw("keySchema", keySchema)
	w.strs("tableStatus", "CREATING")
	w.awsDate("creationDateTime", c.t)
	w.raw("provisionedThroughput", `{"numberOfDecreasesToday":0,"readCapacityUnits":0,"writeCapacityUnits":0}`)
	w.int("tableSizeBytes", 0)
	w.int("itemCount", 0)
	w.strs("tableArn", c.tableARN(table))
	w.strs("tableId", c.uuid())
	w.raw("billingModeSummary", `{"billingMode":"PAY_PER_REQUEST"}`)
	w.boolean("deletionProtectionEnabled", false)
	w.end()
	w.end()
}

func (c *call) deleteTable() {
	c.dynamoCall("DeleteTable", 0.5)
	table := pick(c.g, c.acct.tables)
	c.req.b = append(c.req.b, `{"tableName":"`+table+`"}`...)
	c.oneResource("AWS::DynamoDB::Table", c.tableARN(table))
	if c.g.chance(0.03) {
		c.fail("ResourceInUseException", "Attempt to change a resource which is still in use: Table is being deleted: "+table)
		return
	}
	if c.maybeDenied("dynamodb:DeleteTable", func() string { return c.tableARN(table) }) {
		return
	}
	w := &c.resp
	w.b = append(w.b, '{')
	w.obj("tableDescription")
	w.strs("tableName", table)
	w.strs("tableStatus", "DELETING")
	w.raw("provisionedThroughput", `{"numberOfDecreasesToday":0,"readCapacityUnits":0,"writeCapacityUnits":0}`)
	w.int("tableSizeBytes", c.g.rng.Int64N(1<<34))
	w.int("itemCount", c.g.rng.Int64N(1<<24))
	w.strs("tableArn", c.tableARN(table))
	w.strs("tableId", c.uuid())
	w.raw("billingModeSummary", `{"billingMode":"PAY_PER_REQUEST"}`)
	w.boolean("deletionProtectionEnabled", false)
	w.end()
	w.end()
}

// --- KMS ---

var kmsCallers = []string{"s3.amazonaws.com", "dynamodb.amazonaws.com", "secretsmanager.amazonaws.com", "lambda.amazonaws.com", "cloudtrail.amazonaws.com"}

func (c *call) kmsKeyARN() string { return pick(c.g, c.reg.keyARNs) }

// kmsCall picks the caller of a cryptographic call and writes the start of
// requestParameters with an encryption context that matches it.
func (c *call) kmsCall(name, key string) {
	c.svc("kms.amazonaws.com", name)
	c.readOnly = true
	g := c.g
	svc := pick(g, kmsCallers)
	switch x := g.intn(10); {
	case x < 4:
		c.asService(svc)
	case x < 9:
		c.asAutomation()
	default:
		c.asPerson()
	}
	r := &c.req
	r.b = append(r.b, '{')
	if name == "GenerateDataKey" || c.mode != modeService {
		r.strs("keyId", key)
	}
	r.obj("encryptionContext")
	switch svc {
	case "s3.amazonaws.com":
		r.strs("aws:s3:arn", "arn:aws:s3:::", pick(g, c.acct.buckets))
	case "dynamodb.amazonaws.com":
		r.strs("aws:dynamodb:tableName", pick(g, c.acct.tables))
		r.strs("aws:dynamodb:subscriberId", c.acct.id)
	case "secretsmanager.amazonaws.com":
		r.strs("SecretARN", "arn:aws:secretsmanager:", c.region, ":", c.acct.id, ":secret:prod/db-", hexID(g.rng, "", 6))
		r.strs("SecretVersionId", c.uuid())
	case "lambda.amazonaws.com":
		r.strs("aws:lambda:FunctionArn", "arn:aws:lambda:", c.region, ":", c.acct.id, ":function:", pick(g, c.reg.functions))
	default:
		r.strs("aws:cloudtrail:arn", "arn:aws:cloudtrail:", c.region, ":", c.acct.id, ":trail/", c.acct.trail)
	}
	r.end()
}

func (c *call) decrypt() {
	key := c.kmsKeyARN()
	c.kmsCall("Decrypt", key)
	c.req.strs("encryptionAlgorithm", "SYMMETRIC_DEFAULT")
	c.req.end()
	c.oneResource("AWS::KMS::Key", key)
	c.maybeDenied("kms:Decrypt", func() string { return key })
}

func (c *call) generateDataKey() {
	key := c.kmsKeyARN()
	c.kmsCall("GenerateDataKey", key)
	c.req.strs("keySpec", "AES_256")
	c.req.end()
	c.oneResource("AWS::KMS::Key", key)
	c.maybeDenied("kms:GenerateDataKey", func() string { return key })
}

func (c *call) createKey() {
	c.svc("kms.amazonaws.com", "CreateKey")
	c.asAnyone(0.6)
	r := &c.req
	r.b = append(r.b, '{')
	r.strs("keyUsage", "ENCRYPT_DECRYPT")
	r.strs("keySpec", "SYMMETRIC_DEFAULT")
	r.strs("description", pick(c.g, []string{"", "S3 bucket encryption", "DynamoDB tables", "Secrets"}))
	r.strs("origin", "AWS_KMS")
	r.boolean("bypassPolicyLockoutSafetyCheck", false)
	r.boolean("multiRegion", false)
	r.end()
	if c.maybeDenied("kms:CreateKey", constant("*")) {
		return
	}
	id := c.uuid()
	arn := "arn:aws:kms:" + c.region + ":" + c.acct.id + ":key/" + id
	w := &c.resp
	w.b = append(w.b, '{')
	w.obj("keyMetadata")
	w.strs("aWSAccountId", c.acct.id)
	w.strs("keyId", id)
	w.strs("arn", arn)
	w.awsDate("creationDate", c.t)
	w.boolean("enabled", true)
	w.strs("description", "")
	w.strs("keyUsage", "ENCRYPT_DECRYPT")
	w.strs("keyState", "Enabled")
	w.strs("origin", "AWS_KMS")
	w.strs("keyManager", "CUSTOMER")
	w.strs("customerMasterKeySpec", "SYMMETRIC_DEFAULT")
	w.strs("keySpec", "SYMMETRIC_DEFAULT")
	w.raw("encryptionAlgorithms", `["SYMMETRIC_DEFAULT"]`)
	w.boolean("multiRegion", false)
	w.end()
	w.end()
	c.oneResource("AWS::KMS::Key", arn)
}

// --- STS ---

func (c *call) stsCall(name string) {
	c.svc("sts.amazonaws.com", name)
	c.readOnly = true
	if c.g.chance(0.3) { // the global endpoint
		c.global()
		c.host = "sts.amazonaws.com"
	}
}

func (c *call) assumeRole() {
	c.stsCall("AssumeRole")
	g, a := c.g, c.acct
	var role *principal
	switch x := g.intn(100); {
	case x < 35: // services assuming their execution roles
		role = pick(g, a.auto)
		switch {
		case role.lambda:
			c.asService("lambda.amazonaws.com")
		case role.ec2:
			c.asService("ec2.amazonaws.com")
		default:
			c.asService("ecs-tasks.amazonaws.com")
		}
	case x < 75: // people switching into roles
		role = pick(g, a.people)
		from := a
		if len(g.accounts) > 1 && g.chance(0.15) {
			// From another account: AWS shares the event with both
			// accounts under one sharedEventID.
			from = pick(g, g.accounts)
			c.shared = from != a
		}
		c.p, c.mode, c.home = pick(g, from.humans), modeUserKey, from
		c.ip = c.p.ip
		c.pickClient()
	default: // pipelines
		role = pick(g, a.auto)
		c.asAutomation()
	}
	r := &c.req
	r.b = append(r.b, '{')
	r.strs("roleArn", role.arn)
	r.str("roleSessionName", role.session)
	r.int("durationSeconds", 3600)
	r.end()
	c.oneResource("AWS::IAM::Role", role.arn)
	if c.maybeDenied("sts:AssumeRole", func() string { return role.arn }) {
		return
	}
	w := &c.resp
	w.b = append(w.b, '{')
	w.obj("credentials")
	w.strs("accessKeyId", ident(g.rng, "ASIA", 16))
	w.strs("sessionToken", "IQoJb3JpZ2luX2Vj", g.token(200+g.intn(200)))
	w.awsDate("expiration", c.t.Add(time.Hour))
	w.end()
	w.obj("assumedRoleUser")
	w.key("assumedRoleId")
	w.b = appendQuoted(w.b, role.principalID+":"+role.session)
	w.key("arn")
	w.b = appendQuoted(w.b, "arn:aws:sts::"+a.id+":assumed-role/"+role.name+"/"+role.session)
	w.end()
	w.end()
}

func (c *call) getCallerIdentity() {
	c.stsCall("GetCallerIdentity")
	c.asAnyone(0.5)
}

// --- CloudTrail ---

func (c *call) trailARN() string {
	return "arn:aws:cloudtrail:" + c.g.regions[0] + ":" + c.acct.id + ":trail/" + c.acct.trail
}

func (c *call) describeTrails() {
	c.svc("cloudtrail.amazonaws.com", "DescribeTrails")
	c.readOnly = true
	c.asAnyone(0.4)
	c.req.b = append(c.req.b, `{"trailNameList":[],"includeShadowTrails":true}`...)
}

func (c *call) lookupEvents() {
	c.svc("cloudtrail.amazonaws.com", "LookupEvents")
	c.readOnly = true
	c.asPerson()
	r := &c.req
	r.b = append(r.b, '{')
	if c.g.chance(0.5) {
		r.arr("lookupAttributes")
		r.elem()
		r.strs("attributeKey", "EventName")
		r.strs("attributeValue", pick(c.g, []string{"ConsoleLogin", "TerminateInstances", "DeleteTable", "AuthorizeSecurityGroupIngress"}))
		r.end()
		r.endArr()
	} else {
		r.awsDate("startTime", c.t.Add(-24*time.Hour).Truncate(time.Hour))
		r.awsDate("endTime", c.t.Truncate(time.Minute))
	}
	r.int("maxResults", 50)
	r.end()
}

func (c *call) stopLogging() {
	c.svc("cloudtrail.amazonaws.com", "StopLogging")
	c.asPerson()
	c.region, c.reg = c.g.regions[0], c.acct.regions[0]
	c.req.b = append(c.req.b, `{"name":"`+c.trailARN()+`"}`...)
	c.maybeDenied("cloudtrail:StopLogging", func() string { return c.trailARN() })
}

// --- console sign-in ---

func (c *call) consoleLogin() {
	c.svc("signin.amazonaws.com", "ConsoleLogin")
	c.eventType = "AwsConsoleSignIn"
	c.requestID = idNone
	g, a := c.g, c.acct
	c.host = "signin.aws.amazon.com"
	if g.chance(0.8) {
		c.global()
	} else {
		c.host = c.region + ".signin.aws.amazon.com"
	}
	c.mode = modeUserKey // not a console session: no sessionCredentialFromConsole
	c.client = client{kind: clientBrowser, variant: g.intn(len(browserUAs))}
	loginTo := `"LoginTo":"https://console.aws.amazon.com/console/home?hashArgs=%23&isauthcode=true&state=hashArgsFromTB_` + c.region + `_` + hexID(g.rng, "", 16) + `",`
	acct := a.id
	var mfa, failed bool
	switch x := g.intn(100); {
	case x < 70: // IAM users
		p := pick(g, a.humans)
		c.p, c.ip = p, p.ip
		switch {
		case g.chance(0.06): // unknown user name: AWS hides what was typed
			failed = true
			c.identity = `{"type":"IAMUser","accountId":"` + acct + `","accessKeyId":"","userName":"HIDDEN_DUE_TO_SECURITY_REASONS"}`
			if g.chance(0.7) {
				c.ip = ipIn(g.rng, clientNets)
			}
		case g.chance(0.05): // wrong password
			failed = true
			c.identity = `{"type":"IAMUser","principalId":"` + p.principalID + `","accountId":"` + acct + `","accessKeyId":"","userName":"` + p.name + `"}`
		default:
			mfa = p.mfa
			c.identity = `{"type":"IAMUser","principalId":"` + p.principalID + `","arn":"` + p.arn + `","accountId":"` + acct + `","accessKeyId":"","userName":"` + p.name + `"}`
		}
		c.writeLogin(loginTo, failed, mfa, "arn:aws:iam::"+acct+":mfa/"+p.name)
	case x < 82: // root
		c.p, c.ip = a.root, a.root.ip
		failed = g.chance(0.1)
		c.identity = `{"type":"Root","principalId":"` + acct + `","arn":"arn:aws:iam::` + acct + `:root","accountId":"` + acct + `","accessKeyId":""}`
		c.writeLogin(loginTo, failed, !failed, "arn:aws:iam::"+acct+":mfa/root-account-mfa-device")
	default: // federated (SSO / SAML) sign-in to a role
		p := pick(g, a.people)
		c.p, c.ip = p, p.ip
		c.identity = p.idHead + p.idMid + c.t.Format("2006-01-02T15:04:05Z") + `","mfaAuthenticated":"false"}}}`
		c.identity = strings.Replace(c.identity, `"accessKeyId":"","sessionContext"`, `"sessionContext"`, 1)
		c.resp.b = append(c.resp.b, `{"ConsoleLogin":"Success"}`...)
		c.add.b = append(c.add.b, `{"MobileVersion":"No","MFAUsed":"No"}`...)
	}
}

func (c *call) writeLogin(loginTo string, failed, mfa bool, mfaDevice string) {
	if failed {
		c.fail("", "Failed authentication")
		c.resp.b = append(c.resp.b, `{"ConsoleLogin":"Failure"}`...)
		c.add.b = append(c.add.b, `{`+loginTo+`"MobileVersion":"No","MFAUsed":"No"}`...)
		return
	}
	c.resp.b = append(c.resp.b, `{"ConsoleLogin":"Success"}`...)
	if mfa {
		c.add.b = append(c.add.b, `{`+loginTo+`"MobileVersion":"No","MFAIdentifier":"`+mfaDevice+`","MFAUsed":"Yes"}`...)
	} else {
		c.add.b = append(c.add.b, `{`+loginTo+`"MobileVersion":"No","MFAUsed":"No"}`...)
	}
}
