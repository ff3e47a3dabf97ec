package event

import "strings"

// Username is the value LookupEvents reports and matches as Username: "root" for the root user,
// the session name for assumed roles and federated users, otherwise userName.
func (r *Record) Username() string {
	u := r.UserIdentity
	if u == nil {
		return ""
	}
	switch u.Type {
	case "Root":
		return "root"
	case "AssumedRole", "FederatedUser":
		if i := strings.LastIndexByte(u.ARN, '/'); i >= 0 && i+1 < len(u.ARN) {
			return u.ARN[i+1:]
		}
	}
	return u.UserName
}

// AccessKeyID is the caller's access key, or "".
func (r *Record) AccessKeyID() string {
	if r.UserIdentity == nil {
		return ""
	}
	return r.UserIdentity.AccessKeyID
}

// LookupResource is a resource as LookupEvents reports it.
type LookupResource struct {
	Type string // e.g. AWS::EC2::Instance; may be empty
	Name string // e.g. i-0abc…, a bucket name, an IAM user name
	ARN  string
}

// LookupResources derives LookupEvents' resource names from resources[].
func (r *Record) LookupResources() []LookupResource {
	if len(r.Resources) == 0 {
		return nil
	}
	out := make([]LookupResource, 0, len(r.Resources))
	for _, res := range r.Resources {
		if res.ARN == "" && res.Type == "" {
			continue
		}
		out = append(out, LookupResource{Type: res.Type, Name: ResourceName(res.ARN), ARN: res.ARN})
	}
	return out
}

// ResourceName shortens an ARN to the identifier people search by: arn:aws:ec2:r:a:instance/i-1
// gives i-1, arn:aws:iam::a:user/path/alice gives alice, arn:aws:s3:::bucket gives bucket.
// Anything that is not an ARN is returned unchanged.
func ResourceName(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 || parts[0] != "arn" {
		return arn
	}
	res := parts[5]
	if parts[2] == "s3" {
		// Bucket and object names are the whole resource part.
		return res
	}
	if i := strings.LastIndexByte(res, '/'); i >= 0 {
		return res[i+1:]
	}
	if i := strings.IndexByte(res, ':'); i >= 0 {
		return res[i+1:]
	}
	return res
}
