package logfile_test

import (
	"strings"
	"testing"
	"time"

	"github.com/cairn-dev/cairn/internal/logfile"
)

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

// Keys quoted in reference/cloudtrail.md §1.2 and §2.1 (AWS documentation
// and the AWS Secure Environment Accelerator's log archive table).
func TestParseKeyRealAWS(t *testing.T) {
	tests := []struct {
		key  string
		want logfile.KeyInfo
	}{
		{
			key: "AWSLogs/111122223333/CloudTrail/us-east-2/2015/08/01/111122223333_CloudTrail_us-east-2_20150801T0210Z_Mu0KsOhtH1ar15ZZ.json.gz",
			want: logfile.KeyInfo{Kind: logfile.Log, Account: "111122223333", Region: "us-east-2",
				Time: mustTime(t, "2015-08-01T02:10:00Z"), Unique: "Mu0KsOhtH1ar15ZZ"},
		},
		{
			// Organisation trail under a user prefix that is itself the org ID.
			// The file name's account differs from the folder's in AWS's own example.
			key: "o-fxozgwu6rc/AWSLogs/o-fxozgwu6rc/123456789015/CloudTrail/ca-central-1/2020/08/30/123456789016_CloudTrail_ca-central-1_20200830T0115Z_3YQJxwt5qUaOzMtL.json.gz",
			want: logfile.KeyInfo{Kind: logfile.Log, Prefix: "o-fxozgwu6rc", OrgID: "o-fxozgwu6rc", Account: "123456789015",
				Region: "ca-central-1", Time: mustTime(t, "2020-08-30T01:15:00Z"), Unique: "3YQJxwt5qUaOzMtL"},
		},
		{
			key: "o-fxozgwu6rc/AWSLogs/o-fxozgwu6rc/123456789015/CloudTrail-Insight/ca-central-1/2020/09/23/123456789015_CloudTrail-Insight_ca-central-1_20200923T0516Z_KL5e9VCV2SS7IqzB.json.gz",
			want: logfile.KeyInfo{Kind: logfile.Insight, Prefix: "o-fxozgwu6rc", OrgID: "o-fxozgwu6rc", Account: "123456789015",
				Region: "ca-central-1", Time: mustTime(t, "2020-09-23T05:16:00Z"), Unique: "KL5e9VCV2SS7IqzB"},
		},
		{
			key: "AWSLogs/111122223333/CloudTrail-Digest/us-east-2/2015/08/17/111122223333_CloudTrail-Digest_us-east-2_your-trail-name_us-east-2_20150817T150131Z.json.gz",
			want: logfile.KeyInfo{Kind: logfile.Digest, Account: "111122223333", Region: "us-east-2",
				Time: mustTime(t, "2015-08-17T15:01:31Z"), TrailName: "your-trail-name", HomeRegion: "us-east-2"},
		},
		{
			key: "AWSLogs/111122223333/CloudTrail-Digest/eu-west-1/2015/08/17/111122223333_CloudTrail-Digest_eu-west-1_my_org_trail_us-east-1_20150817T150131Z_backfill.json.gz",
			want: logfile.KeyInfo{Kind: logfile.Digest, Account: "111122223333", Region: "eu-west-1",
				Time: mustTime(t, "2015-08-17T15:01:31Z"), TrailName: "my_org_trail", HomeRegion: "us-east-1", Backfill: true},
		},
		{
			// Prefix with slashes, an "AWSLogs" segment and an o- segment of its own.
			key: "central/AWSLogs/o-aaaaaaaaaa/x/AWSLogs/o-abcdef1234/210987654321/CloudTrail/us-gov-west-1/2024/02/29/210987654321_CloudTrail_us-gov-west-1_20240229T2355Z_abcdefghijklmnop.json.gz",
			want: logfile.KeyInfo{Kind: logfile.Log, Prefix: "central/AWSLogs/o-aaaaaaaaaa/x", OrgID: "o-abcdef1234", Account: "210987654321",
				Region: "us-gov-west-1", Time: mustTime(t, "2024-02-29T23:55:00Z"), Unique: "abcdefghijklmnop"},
		},
		{
			// A prefix ending in AWSLogs, no organisation.
			key: "AWSLogs/AWSLogs/000000000000/CloudTrail/ap-northeast-1/2000/01/01/000000000000_CloudTrail_ap-northeast-1_20000101T0000Z_0000000000000000.json.gz",
			want: logfile.KeyInfo{Kind: logfile.Log, Prefix: "AWSLogs", Account: "000000000000",
				Region: "ap-northeast-1", Time: mustTime(t, "2000-01-01T00:00:00Z"), Unique: "0000000000000000"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.key[strings.LastIndexByte(tt.key, '/')+1:], func(t *testing.T) {
			got, err := logfile.ParseKey(tt.key)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Time.Equal(tt.want.Time) || got.Time.Location() != time.UTC {
				t.Errorf("Time = %v, want %v UTC", got.Time, tt.want.Time)
			}
			got.Time, tt.want.Time = time.Time{}, time.Time{}
			if got != tt.want {
				t.Errorf("ParseKey =\n %+v\nwant\n %+v", got, tt.want)
			}
		})
	}
}

func TestKeyBuilders(t *testing.T) {
	delivered := mustTime(t, "2015-08-01T02:10:59Z")
	end := time.Date(2015, 8, 17, 16, 1, 31, 0, time.FixedZone("CEST", 3600)) // 15:01:31Z
	tests := []struct {
		name, got, want string
	}{
		{"log", logfile.LogKey("", "", "111122223333", "us-east-2", delivered, "Mu0KsOhtH1ar15ZZ"),
			"AWSLogs/111122223333/CloudTrail/us-east-2/2015/08/01/111122223333_CloudTrail_us-east-2_20150801T0210Z_Mu0KsOhtH1ar15ZZ.json.gz"},
		{"org log", logfile.LogKey("o-fxozgwu6rc", "o-fxozgwu6rc", "123456789015", "ca-central-1", mustTime(t, "2020-08-30T01:15:00Z"), "3YQJxwt5qUaOzMtL"),
			"o-fxozgwu6rc/AWSLogs/o-fxozgwu6rc/123456789015/CloudTrail/ca-central-1/2020/08/30/123456789015_CloudTrail_ca-central-1_20200830T0115Z_3YQJxwt5qUaOzMtL.json.gz"},
		{"insight", logfile.InsightKey("", "o-fxozgwu6rc", "123456789015", "ca-central-1", mustTime(t, "2020-09-23T05:16:00Z"), "KL5e9VCV2SS7IqzB"),
			"AWSLogs/o-fxozgwu6rc/123456789015/CloudTrail-Insight/ca-central-1/2020/09/23/123456789015_CloudTrail-Insight_ca-central-1_20200923T0516Z_KL5e9VCV2SS7IqzB.json.gz"},
		{"digest", logfile.DigestKey("", "", "111122223333", "us-east-2", "your-trail-name", "us-east-2", end, false),
			"AWSLogs/111122223333/CloudTrail-Digest/us-east-2/2015/08/17/111122223333_CloudTrail-Digest_us-east-2_your-trail-name_us-east-2_20150817T150131Z.json.gz"},
		{"backfill digest with prefix", logfile.DigestKey("a/b", "", "111122223333", "eu-west-1", "t", "us-east-1", end, true),
			"a/b/AWSLogs/111122223333/CloudTrail-Digest/eu-west-1/2015/08/17/111122223333_CloudTrail-Digest_eu-west-1_t_us-east-1_20150817T150131Z_backfill.json.gz"},
		{"date folders follow UTC", logfile.LogKey("", "", "111122223333", "us-east-1", time.Date(2024, 1, 1, 0, 30, 0, 0, time.FixedZone("X", 3600)), "AAAAAAAAAAAAAAAA"),
			"AWSLogs/111122223333/CloudTrail/us-east-1/2023/12/31/111122223333_CloudTrail_us-east-1_20231231T2330Z_AAAAAAAAAAAAAAAA.json.gz"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, tt.got, tt.want)
		}
		info, err := logfile.ParseKey(tt.got)
		if err != nil {
			t.Errorf("%s: ParseKey: %v", tt.name, err)
			continue
		}
		if k := info.Key(); k != tt.got {
			t.Errorf("%s: Key() = %s", tt.name, k)
		}
	}
}

func TestParseKeyErrors(t *testing.T) {
	const good = "AWSLogs/111122223333/CloudTrail/us-east-2/2015/08/01/111122223333_CloudTrail_us-east-2_20150801T0210Z_Mu0KsOhtH1ar15ZZ.json.gz"
	tests := []struct {
		key, wantErr string
	}{
		{"", "too few path segments"},
		{"AWSLogs/111122223333/CloudTrail/us-east-2/2015/08/01", "too few path segments"},
		{strings.Replace(good, "/CloudTrail/", "/Cloudtrail/", 1), `folder "Cloudtrail"`},
		{strings.Replace(good, "AWSLogs/111122223333/", "AWSLogs/11112222333/", 1), "12-digit account"},
		{strings.Replace(good, "AWSLogs/", "Logs/", 1), `neither "AWSLogs"`},
		{"x/o-abcdefghij/111122223333/CloudTrail/us-east-2/2015/08/01/111122223333_CloudTrail_us-east-2_20150801T0210Z_Mu0KsOhtH1ar15ZZ.json.gz", "not preceded by"},
		{"/" + good, "starts with '/'"},
		{strings.Replace(good, "/us-east-2/", "/US-EAST-2/", 1), "not a region"},
		{strings.TrimSuffix(good, ".gz"), `does not end in ".json.gz"`},
		{strings.Replace(good, "_CloudTrail_us-east-2_", "_CloudTrail_us-east-1_", 1), "folder and region must match"},
		{strings.Replace(good, "_CloudTrail_", "_CloudTrail-Insight_", 1), "folder and region must match"},
		{strings.Replace(good, "20150801T0210Z", "20150801T021000Z", 1), "_YYYYMMDDTHHmmZ_"},
		{strings.Replace(good, "20150801T0210Z", "20151301T0210Z", 1), "month out of range"},
		{strings.Replace(good, "20150801T0210Z", "2015080+T0210Z", 1), "not in the form"},
		{strings.Replace(good, "Mu0KsOhtH1ar15ZZ", "Mu0KsOhtH1ar15Z", 1), "16 alphanumerics"},
		{strings.Replace(good, "Mu0KsOhtH1ar15ZZ", "Mu0KsOhtH1ar15Z-", 1), "16 alphanumerics"},
		{strings.Replace(good, "2015/08/01", "2015/08/02", 1), "date folders 2015/08/02 do not match"},
		{strings.Replace(good, "/111122223333_", "/1111222233_", 1), "does not start with a 12-digit"},
		{"AWSLogs/111122223333/CloudTrail-Digest/us-east-2/2015/08/17/111122223333_CloudTrail-Digest_us-east-2_-bad_us-east-2_20150817T150131Z.json.gz", `"-bad" is not a trail name`},
		{"AWSLogs/111122223333/CloudTrail-Digest/us-east-2/2015/08/17/111122223333_CloudTrail-Digest_us-east-2_trail_US_20150817T150131Z.json.gz", `home region "US"`},
		{"AWSLogs/111122223333/CloudTrail-Digest/us-east-2/2015/08/17/111122223333_CloudTrail-Digest_us-east-2_us-east-2_20150817T150131Z.json.gz", "lacks _<trailName>_<homeRegion>_"},
		{"AWSLogs/111122223333/CloudTrail-Digest/us-east-2/2015/08/17/111122223333_CloudTrail-Digest_us-east-2_trail_us-east-2_20150817T1501Z.json.gz", "_YYYYMMDDTHHMMSSZ"},
		{"AWSLogs/111122223333/CloudTrail-Digest/us-east-2/2015/08/17/111122223333_CloudTrail-Digest_us-east-2_20150817T150131Z.json.gz", "_YYYYMMDDTHHMMSSZ"},
	}
	for _, tt := range tests {
		_, err := logfile.ParseKey(tt.key)
		if err == nil {
			t.Errorf("ParseKey(%q) succeeded, want error containing %q", tt.key, tt.wantErr)
			continue
		}
		if !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), "logfile: parse key ") {
			t.Errorf("ParseKey(%q) error = %q, want it to contain %q", tt.key, err, tt.wantErr)
		}
	}
}

func TestUniqueSuffix(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 2000; i++ {
		seed := []byte(strings.Repeat("x", i%7) + string(rune('a'+i%26)) + strings.Repeat("y", i/26))
		u := logfile.UniqueSuffix(seed)
		if len(u) != 16 {
			t.Fatalf("len(%q) = %d", u, len(u))
		}
		for _, c := range u {
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
				t.Fatalf("%q has non-alphanumeric %q", u, c)
			}
		}
		if u != logfile.UniqueSuffix(seed) {
			t.Fatalf("UniqueSuffix(%q) not deterministic", seed)
		}
		if seen[u] {
			t.Fatalf("collision on %q", u)
		}
		seen[u] = true
		// The suffix must make a parseable key.
		k := logfile.LogKey("", "", "111122223333", "us-east-1", time.Unix(0, 0), u)
		if _, err := logfile.ParseKey(k); err != nil {
			t.Fatal(err)
		}
	}
	if got := logfile.UniqueSuffix(nil); got != logfile.UniqueSuffix([]byte{}) {
		t.Errorf("nil and empty seeds differ")
	}
}

func FuzzParseKey(f *testing.F) {
	for _, k := range []string{
		"AWSLogs/111122223333/CloudTrail/us-east-2/2015/08/01/111122223333_CloudTrail_us-east-2_20150801T0210Z_Mu0KsOhtH1ar15ZZ.json.gz",
		"o-fxozgwu6rc/AWSLogs/o-fxozgwu6rc/123456789015/CloudTrail/ca-central-1/2020/08/30/123456789016_CloudTrail_ca-central-1_20200830T0115Z_3YQJxwt5qUaOzMtL.json.gz",
		"o-fxozgwu6rc/AWSLogs/o-fxozgwu6rc/123456789015/CloudTrail-Insight/ca-central-1/2020/09/23/123456789015_CloudTrail-Insight_ca-central-1_20200923T0516Z_KL5e9VCV2SS7IqzB.json.gz",
		"AWSLogs/111122223333/CloudTrail-Digest/us-east-2/2015/08/17/111122223333_CloudTrail-Digest_us-east-2_your-trail-name_us-east-2_20150817T150131Z.json.gz",
		"p/AWSLogs/111122223333/CloudTrail-Digest/eu-west-1/2015/08/17/111122223333_CloudTrail-Digest_eu-west-1_my_org_trail_us-east-1_20150817T150131Z_backfill.json.gz",
	} {
		f.Add(k)
	}
	f.Fuzz(func(t *testing.T, key string) {
		info, err := logfile.ParseKey(key)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "logfile: parse key ") {
				t.Fatalf("error without context: %v", err)
			}
			return
		}
		if info.Kind != logfile.Log && info.Kind != logfile.Insight && info.Kind != logfile.Digest {
			t.Fatalf("kind %v", info.Kind)
		}
		if info.Time.Location() != time.UTC {
			t.Fatalf("time %v not UTC", info.Time)
		}
		rebuilt := info.Key()
		if rebuilt != key {
			// Only the file name's account may differ (it is not kept).
			name := key[strings.LastIndexByte(key, '/')+1:]
			if len(rebuilt) != len(key) || rebuilt[:len(key)-len(name)] != key[:len(key)-len(name)] ||
				rebuilt[len(key)-len(name)+12:] != key[len(key)-len(name)+12:] {
				t.Fatalf("Key() = %q, want %q", rebuilt, key)
			}
		}
		again, err := logfile.ParseKey(rebuilt)
		if err != nil {
			t.Fatalf("rebuilt key %q does not parse: %v", rebuilt, err)
		}
		if again != info {
			t.Fatalf("reparse = %+v, want %+v", again, info)
		}
	})
}
