package logfile

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Kind says which of CloudTrail's three object families a key belongs to.
type Kind int

// The zero Kind is deliberately invalid so that an unset KeyInfo is never
// mistaken for a log file.
const (
	Log     Kind = iota + 1 // CloudTrail/…_CloudTrail_…json.gz
	Insight                 // CloudTrail-Insight/…_CloudTrail-Insight_…json.gz
	Digest                  // CloudTrail-Digest/…_CloudTrail-Digest_…json.gz
)

func (k Kind) String() string {
	switch k {
	case Log:
		return "Log"
	case Insight:
		return "Insight"
	case Digest:
		return "Digest"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// folder is the path segment after the account, which is also the word that
// follows the account in the file name.
func (k Kind) folder() string {
	switch k {
	case Log:
		return "CloudTrail"
	case Insight:
		return "CloudTrail-Insight"
	case Digest:
		return "CloudTrail-Digest"
	}
	return ""
}

const (
	minuteLayout = "20060102T1504Z"   // log and Insights file names: delivery minute
	secondLayout = "20060102T150405Z" // digest file names: digestEndTime
	suffix       = ".json.gz"
	backfillTag  = "_backfill"
	awsLogs      = "AWSLogs"
	uniqueLen    = 16
)

// LogKey returns the object key under which CloudTrail delivers a log file:
//
//	[prefix/]AWSLogs/[orgID/]account/CloudTrail/region/YYYY/MM/DD/account_CloudTrail_region_YYYYMMDDTHHmmZ_unique.json.gz
//
// delivered is the delivery time (converted to UTC, truncated to the minute
// in the name); the date folders are its date. An empty prefix or orgID is
// left out. The prefix is used as given: a trailing slash yields "//", as it
// does in S3.
func LogKey(prefix, orgID, account, region string, delivered time.Time, unique string) string {
	return eventKey(Log, prefix, orgID, account, region, delivered, unique)
}

// InsightKey is LogKey for Insights files (folder and name word
// "CloudTrail-Insight", singular).
func InsightKey(prefix, orgID, account, region string, delivered time.Time, unique string) string {
	return eventKey(Insight, prefix, orgID, account, region, delivered, unique)
}

func eventKey(k Kind, prefix, orgID, account, region string, delivered time.Time, unique string) string {
	t := delivered.UTC()
	b := make([]byte, 0, 160+len(prefix))
	b = appendDir(b, k, prefix, orgID, account, region, t)
	b = append(b, account...)
	b = append(b, '_')
	b = append(b, k.folder()...)
	b = append(b, '_')
	b = append(b, region...)
	b = append(b, '_')
	b = t.AppendFormat(b, minuteLayout)
	b = append(b, '_')
	b = append(b, unique...)
	b = append(b, suffix...)
	return string(b)
}

// DigestKey returns the object key of a digest file:
//
//	[prefix/]AWSLogs/[orgID/]account/CloudTrail-Digest/region/YYYY/MM/DD/account_CloudTrail-Digest_region_trailName_homeRegion_YYYYMMDDTHHMMSSZ[_backfill].json.gz
//
// end is digestEndTime; the name carries it to the second and the date
// folders are its date. region is the region the digest covers, homeRegion
// the trail's home region.
func DigestKey(prefix, orgID, account, region, trailName, homeRegion string, end time.Time, backfill bool) string {
	t := end.UTC()
	b := make([]byte, 0, 200+len(prefix)+len(trailName))
	b = appendDir(b, Digest, prefix, orgID, account, region, t)
	b = append(b, account...)
	b = append(b, "_CloudTrail-Digest_"...)
	b = append(b, region...)
	b = append(b, '_')
	b = append(b, trailName...)
	b = append(b, '_')
	b = append(b, homeRegion...)
	b = append(b, '_')
	b = t.AppendFormat(b, secondLayout)
	if backfill {
		b = append(b, backfillTag...)
	}
	b = append(b, suffix...)
	return string(b)
}

func appendDir(b []byte, k Kind, prefix, orgID, account, region string, t time.Time) []byte {
	if prefix != "" {
		b = append(b, prefix...)
		b = append(b, '/')
	}
	b = append(b, awsLogs...)
	b = append(b, '/')
	if orgID != "" {
		b = append(b, orgID...)
		b = append(b, '/')
	}
	b = append(b, account...)
	b = append(b, '/')
	b = append(b, k.folder()...)
	b = append(b, '/')
	b = append(b, region...)
	b = append(b, '/')
	b = t.AppendFormat(b, "2006/01/02/")
	return b
}

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// UniqueSuffix derives the 16-alphanumeric unique part of a log file name
// from seed. The same seed always gives the same suffix, so a writer that
// seeds it with what it is delivering (say, a journal range) overwrites the
// same object when it delivers again after a crash instead of duplicating it.
func UniqueSuffix(seed []byte) string {
	var out [uniqueLen]byte
	n := 0
	h := sha256.Sum256(seed)
	for counter := uint64(1); ; counter++ {
		for _, c := range h {
			// Rejection sampling keeps the 62 characters equally likely.
			if c >= 248 { // 248 = 4*62
				continue
			}
			out[n] = alnum[c%62]
			n++
			if n == uniqueLen {
				return string(out[:])
			}
		}
		var ext [sha256.Size + 8]byte
		copy(ext[:], h[:])
		binary.BigEndian.PutUint64(ext[sha256.Size:], counter)
		h = sha256.Sum256(ext[:])
	}
}

// KeyInfo is what an object key says about the file it names.
type KeyInfo struct {
	Kind   Kind
	Prefix string // S3 key prefix before "AWSLogs/", "" if none
	OrgID  string // organisation ID ("o-…") of an organisation trail, "" if none
	// Account is the account folder. (AWS's own documentation shows an
	// organisation-trail key whose file name names another account; the
	// folder wins.)
	Account string
	Region  string    // region the file covers
	Time    time.Time // UTC; delivery minute for logs and Insights, digestEndTime for digests
	// Digest files only.
	TrailName  string
	HomeRegion string
	Backfill   bool
	// Log and Insights files only: the 16-character unique part.
	Unique string
}

// Key rebuilds the key that info describes; Key(ParseKey(k)) == k for every
// key ParseKey accepts (but for the account in a mismatching file name).
// It returns "" for an invalid Kind.
func (info KeyInfo) Key() string {
	switch info.Kind {
	case Digest:
		return DigestKey(info.Prefix, info.OrgID, info.Account, info.Region, info.TrailName, info.HomeRegion, info.Time, info.Backfill)
	case Log, Insight:
		return eventKey(info.Kind, info.Prefix, info.OrgID, info.Account, info.Region, info.Time, info.Unique)
	}
	return ""
}

// ParseKey is the inverse of LogKey, InsightKey and DigestKey. It accepts
// keys exactly as AWS writes them, including user prefixes that contain
// slashes, "AWSLogs" or "o-…" segments, and organisation trails, and
// explains what is wrong with any other key.
func ParseKey(key string) (KeyInfo, error) {
	info, err := parseKey(key)
	if err != nil {
		return KeyInfo{}, fmt.Errorf("logfile: parse key %q: %w", key, err)
	}
	return info, nil
}

func parseKey(key string) (KeyInfo, error) {
	var info KeyInfo
	segs := strings.Split(key, "/")
	// …/AWSLogs/[org/]acct/<folder>/region/YYYY/MM/DD/name: at least 8 segments.
	n := len(segs)
	if n < 8 {
		return info, errors.New("too few path segments: want [prefix/]AWSLogs/[o-id/]account/CloudTrail…/region/YYYY/MM/DD/file")
	}
	name, dd, mm, yyyy, region, folder, account := segs[n-1], segs[n-2], segs[n-3], segs[n-4], segs[n-5], segs[n-6], segs[n-7]
	switch folder {
	case "CloudTrail":
		info.Kind = Log
	case "CloudTrail-Insight":
		info.Kind = Insight
	case "CloudTrail-Digest":
		info.Kind = Digest
	default:
		return info, fmt.Errorf("folder %q after the account is not CloudTrail, CloudTrail-Insight or CloudTrail-Digest", folder)
	}
	if !isAccount(account) {
		return info, fmt.Errorf("account folder %q is not a 12-digit account ID", account)
	}
	info.Account = account
	if !isRegion(region) {
		return info, fmt.Errorf("region folder %q is not a region name", region)
	}
	info.Region = region

	// AWSLogs, optionally followed by an organisation ID.
	at := n - 8
	switch {
	case segs[at] == awsLogs:
	case isOrgID(segs[at]) && at >= 1 && segs[at-1] == awsLogs:
		info.OrgID = segs[at]
		at--
	case isOrgID(segs[at]):
		return info, fmt.Errorf("organisation ID %q is not preceded by %q", segs[at], awsLogs)
	default:
		return info, fmt.Errorf("segment %q before the account is neither %q nor an organisation ID (o-…)", segs[at], awsLogs)
	}
	if at > 0 {
		info.Prefix = strings.Join(segs[:at], "/")
		if info.Prefix == "" {
			return info, errors.New("key starts with '/' (an empty prefix cannot be written back)")
		}
	}

	if !strings.HasSuffix(name, suffix) {
		return info, fmt.Errorf("file name %q does not end in %q", name, suffix)
	}
	base := strings.TrimSuffix(name, suffix)
	// <acct>_<folder>_<region>_ begins every file name.
	acctEnd := strings.IndexByte(base, '_')
	if acctEnd < 0 {
		return info, fmt.Errorf("file name %q has no '_'-separated fields", name)
	}
	if fileAcct := base[:acctEnd]; !isAccount(fileAcct) {
		return info, fmt.Errorf("file name %q does not start with a 12-digit account ID", name)
	}
	rest := base[acctEnd+1:]
	head := folder + "_" + region + "_"
	if !strings.HasPrefix(rest, head) {
		return info, fmt.Errorf("file name %q does not continue with %q after the account (folder and region must match)", name, head)
	}
	rest = rest[len(head):]

	var layout string
	if info.Kind == Digest {
		// trailName_homeRegion_YYYYMMDDTHHMMSSZ[_backfill]; trail names may hold '_'.
		if strings.HasSuffix(rest, backfillTag) {
			info.Backfill = true
			rest = strings.TrimSuffix(rest, backfillTag)
		}
		const tl = len(secondLayout)
		if len(rest) < tl+1 || rest[len(rest)-tl-1] != '_' {
			return info, fmt.Errorf("digest file name %q does not end in _YYYYMMDDTHHMMSSZ[_backfill].json.gz", name)
		}
		stamp := rest[len(rest)-tl:]
		rest = rest[:len(rest)-tl-1]
		t, err := parseStamp(stamp, secondLayout)
		if err != nil {
			return info, fmt.Errorf("digest file name %q: %w", name, err)
		}
		info.Time = t
		i := strings.LastIndexByte(rest, '_')
		if i < 0 {
			return info, fmt.Errorf("digest file name %q lacks _<trailName>_<homeRegion>_ before the time", name)
		}
		info.TrailName, info.HomeRegion = rest[:i], rest[i+1:]
		if !isTrailName(info.TrailName) {
			return info, fmt.Errorf("digest file name %q: %q is not a trail name", name, info.TrailName)
		}
		if !isRegion(info.HomeRegion) {
			return info, fmt.Errorf("digest file name %q: home region %q is not a region name", name, info.HomeRegion)
		}
		layout = secondLayout
	} else {
		// YYYYMMDDTHHmmZ_unique
		const tl = len(minuteLayout)
		if len(rest) != tl+1+uniqueLen || rest[tl] != '_' {
			return info, fmt.Errorf("file name %q does not end in _YYYYMMDDTHHmmZ_<16 alphanumerics>.json.gz", name)
		}
		t, err := parseStamp(rest[:tl], minuteLayout)
		if err != nil {
			return info, fmt.Errorf("file name %q: %w", name, err)
		}
		info.Time = t
		info.Unique = rest[tl+1:]
		for i := 0; i < len(info.Unique); i++ {
			if !isAlnum(info.Unique[i]) {
				return info, fmt.Errorf("file name %q: unique part %q is not 16 alphanumerics", name, info.Unique)
			}
		}
		layout = minuteLayout
	}
	if want := info.Time.Format("2006/01/02"); yyyy+"/"+mm+"/"+dd != want {
		return info, fmt.Errorf("date folders %s/%s/%s do not match the time %s in the file name", yyyy, mm, dd, info.Time.Format(layout))
	}
	return info, nil
}

// parseStamp parses a file-name time, insisting on plain digits where the
// layout has them (time.Parse alone is laxer than AWS's fixed format).
func parseStamp(s, layout string) (time.Time, error) {
	if len(s) != len(layout) {
		return time.Time{}, fmt.Errorf("time %q is not in the form %s", s, layout)
	}
	for i := 0; i < len(s); i++ {
		if isDigit(layout[i]) != isDigit(s[i]) || (!isDigit(s[i]) && s[i] != layout[i]) {
			return time.Time{}, fmt.Errorf("time %q is not in the form %s", s, layout)
		}
	}
	t, err := time.Parse(layout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("time %q: %w", s, err)
	}
	return t, nil
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isAlnum(c byte) bool {
	return isDigit(c) || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}

func isAccount(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// isOrgID reports whether s looks like an AWS Organizations ID,
// ^o-[a-z0-9]{10,32}$.
func isOrgID(s string) bool {
	if len(s) < 12 || len(s) > 34 || s[0] != 'o' || s[1] != '-' {
		return false
	}
	for i := 2; i < len(s); i++ {
		if c := s[i]; !isDigit(c) && !('a' <= c && c <= 'z') {
			return false
		}
	}
	return true
}

// isRegion accepts region-shaped names (us-east-1, us-gov-west-1,
// eu-isoe-west-1, …): lower-case letters, digits and inner hyphens. It is
// deliberately not a list, so new regions parse.
func isRegion(s string) bool {
	if len(s) < 3 || len(s) > 32 || s[0] == '-' || s[len(s)-1] == '-' || strings.IndexByte(s, '-') < 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isDigit(c) && !('a' <= c && c <= 'z') && c != '-' {
			return false
		}
	}
	return true
}

// isTrailName follows CreateTrail's rule loosely: letters, digits, '.', '_'
// and '-', starting with a letter or digit.
func isTrailName(s string) bool {
	if s == "" || len(s) > 128 || !isAlnum(s[0]) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '.' && c != '_' && c != '-' {
			return false
		}
	}
	return true
}
