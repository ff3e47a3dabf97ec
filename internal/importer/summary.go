package importer

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// Summary is what an import did.
type Summary struct {
	FilesRead       int // log files read (in part or whole)
	FilesSkipped    int // already imported by an earlier run: not read again
	FilesOutside    int // in CloudTrail's layout, but outside the filters by their key
	FilesFailed     int // unreadable as a whole or from some record on
	FilesIgnored    int // met in a directory walk, not JSON logs by name
	IgnoredExamples []string

	Digests           int // CloudTrail-Digest files met
	DigestsUnverified int // ... and not checked (--verify=off, or no verifier)

	Records  int64 // read from files
	Recorded int64
	// Duplicates were already in the store: retried or repeated events, and events a run
	// cut short had recorded.
	Duplicates int64
	// Settled are records an earlier run had settled (recorded, rejected or filtered out),
	// passed over in files it had read in part or under other filters.
	Settled  int64
	Filtered int64 // outside --start-time, --end-time, --account, --region
	Rejected int64

	Bytes   int64 // read, as stored
	Elapsed time.Duration

	// Problems are the files that could not be read, had rejected records or failed
	// verification, by name; at most maxProblems, MoreProblems counts the rest.
	Problems     []FileReport
	MoreProblems int
	// Verification is what the verifier found once every file was read; nil without one.
	Verification *Verification
}

// FileReport says what went wrong with one file.
type FileReport struct {
	Name string
	// Error says why the file could not be read, whole or from Records on.
	Error    string
	Records  int64 // records read from it (before the fault, if Error is set)
	Rejected int64
	Rejects  []Rejection // the first maxRejects
	Verify   []string    // verification failures
}

// Rejection is one record not imported.
type Rejection struct {
	Index   int64 // 0-based position in the file
	EventID string
	Reason  string
}

// OK reports whether everything was imported and verified.
func (s *Summary) OK() bool {
	return s.FilesFailed == 0 && s.Rejected == 0 && len(s.Problems) == 0 &&
		(s.Verification == nil || len(s.Verification.Problems) == 0)
}

// Write prints the summary for people.
func (s *Summary) Write(w io.Writer, verify VerifyMode) {
	secs := max(s.Elapsed.Seconds(), 1e-9)
	fmt.Fprintf(w, "imported %s events from %s files in %s (%s events/s, %.1f MB/s read)\n",
		count(s.Records), count(int64(s.FilesRead)), s.Elapsed.Round(time.Millisecond), count(int64(float64(s.Records)/secs)), float64(s.Bytes)/1e6/secs)
	fmt.Fprintf(w, "  events:  %s recorded, %s duplicates", count(s.Recorded), count(s.Duplicates))
	if s.Settled > 0 {
		fmt.Fprintf(w, ", %s settled by an earlier run", count(s.Settled))
	}
	fmt.Fprintf(w, ", %s outside the filters, %s rejected\n", count(s.Filtered), count(s.Rejected))
	var files []string
	if s.FilesSkipped > 0 {
		files = append(files, count(int64(s.FilesSkipped))+" already imported (skipped)")
	}
	if s.FilesOutside > 0 {
		files = append(files, count(int64(s.FilesOutside))+" outside the filters")
	}
	if s.FilesFailed > 0 {
		files = append(files, count(int64(s.FilesFailed))+" unreadable")
	}
	if s.FilesIgnored > 0 {
		files = append(files, fmt.Sprintf("%s ignored, not JSON logs by name (%s)", count(int64(s.FilesIgnored)), strings.Join(s.IgnoredExamples, ", ")))
	}
	if len(files) > 0 {
		fmt.Fprintf(w, "  files:   %s\n", strings.Join(files, ", "))
	}
	if s.Digests > 0 {
		switch {
		case s.DigestsUnverified == 0:
			fmt.Fprintf(w, "  digests: %d digest files checked (--verify=%s)\n", s.Digests, verify)
		case verify == VerifyOff:
			fmt.Fprintf(w, "  digests: %d digest files not checked (--verify=off)\n", s.Digests)
		default:
			fmt.Fprintf(w, "  digests: %d digest files NOT CHECKED: no verifier\n", s.DigestsUnverified)
		}
	}
	if v := s.Verification; v != nil && (s.Digests > 0 || v.Verified+v.Tampered+v.Missing > 0) {
		fmt.Fprintf(w, "  log files against digests (%d chains): %s verified, %s tampered, %s missing, %s missing from the chain",
			v.Chains, count(int64(v.Verified)), count(int64(v.Tampered)), count(int64(v.Missing)), count(int64(v.Unlisted)))
		if v.NotChecked > 0 {
			fmt.Fprintf(w, ", %s not checked (outside the filters)", count(int64(v.NotChecked)))
		}
		if v.NotCovered > 0 {
			fmt.Fprintf(w, ", %s delivered outside the digests' time (not covered)", count(int64(v.NotCovered)))
		}
		fmt.Fprintln(w)
		for i, n := range v.Notes {
			if i == maxNotes {
				fmt.Fprintf(w, "    … and %d more notes\n", len(v.Notes)-i)
				break
			}
			fmt.Fprintf(w, "    note: %s\n", n)
		}
	}
	if len(s.Problems) > 0 {
		fmt.Fprintln(w, "problems, by file:")
		for _, p := range s.Problems {
			fmt.Fprintf(w, "  %s\n", p.Name)
			switch {
			case p.Error != "" && p.Records == 0:
				fmt.Fprintf(w, "      not imported: %s\n", p.Error)
			case p.Error != "":
				fmt.Fprintf(w, "      read %d records, then: %s\n", p.Records, p.Error)
			}
			for _, v := range p.Verify {
				fmt.Fprintf(w, "      verification failed: %s\n", v)
			}
			if p.Rejected > 0 {
				fmt.Fprintf(w, "      %d of %d records rejected:\n", p.Rejected, p.Records)
				for _, r := range p.Rejects {
					id := ""
					if r.EventID != "" {
						id = " (eventID " + r.EventID + ")"
					}
					fmt.Fprintf(w, "        record %d%s: %s\n", r.Index, id, r.Reason)
				}
				if more := p.Rejected - int64(len(p.Rejects)); more > 0 {
					fmt.Fprintf(w, "        … and %d more\n", more)
				}
			}
		}
		if s.MoreProblems > 0 {
			fmt.Fprintf(w, "  … and %d more files with problems\n", s.MoreProblems)
		}
	}
	if s.Verification != nil && len(s.Verification.Problems) > 0 {
		fmt.Fprintln(w, "verification failures:")
		for i, p := range s.Verification.Problems {
			if i == maxProblems {
				fmt.Fprintf(w, "  … and %d more\n", len(s.Verification.Problems)-i)
				break
			}
			if p.Name != "" {
				fmt.Fprintf(w, "  %s: %s\n", p.Name, p.Reason)
			} else {
				fmt.Fprintf(w, "  %s\n", p.Reason)
			}
		}
	}
}

// maxNotes is how many verification notes a summary prints.
const maxNotes = 10

// count formats n with thousands separators.
func count(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
