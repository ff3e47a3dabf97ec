package integrity

import (
	"fmt"
	"io"
	"time"
)

// Printer is a Report that writes what `aws cloudtrail validate-logs` writes: progress and the
// summary on stdout (valid files only with Verbose), problems on stderr, each followed by a
// blank line. ExitCode is the command's status: 1 if anything was invalid.
type Printer struct {
	Stdout, Stderr io.Writer
	Verbose        bool

	TrailARN   string
	Start, End time.Time

	validDigests, invalidDigests   int
	validBackfill, invalidBackfill int
	validLogs, invalidLogs         int
	foundStart, foundEnd           time.Time
	spaced                         bool // the last status line was followed by a blank line
}

// Begin writes the first line.
func (p *Printer) Begin() {
	p.spaced = true
	fmt.Fprintf(p.Stdout, "Validating log files for trail %s between %s and %s\n\n", p.TrailARN, displayDate(p.Start), displayDate(p.End))
}

func (p *Printer) status(msg string, isError bool) {
	if isError {
		if p.spaced {
			fmt.Fprintf(p.Stderr, "%s\n\n", msg)
		} else {
			fmt.Fprintf(p.Stderr, "\n%s\n\n", msg)
		}
		p.spaced = true
		return
	}
	if p.Verbose {
		p.spaced = false
		fmt.Fprintf(p.Stdout, "%s\n", msg)
	}
}

func tag(backfill bool) string {
	if backfill {
		return "(backfill) "
	}
	return ""
}

// DigestValid implements Report.
func (p *Printer) DigestValid(d *Parsed, backfill bool) {
	if s, err := parseDigestTime(d.DigestStartTime); err == nil {
		if s.Before(p.Start) {
			s = p.Start
		}
		if p.foundStart.IsZero() || s.Before(p.foundStart) {
			p.foundStart = s
		}
	}
	if e, err := parseDigestTime(d.DigestEndTime); err == nil {
		if e.After(p.End) {
			e = p.End
		}
		if p.foundEnd.IsZero() || e.After(p.foundEnd) {
			p.foundEnd = e
		}
	}
	if backfill {
		p.validBackfill++
	} else {
		p.validDigests++
	}
	p.status(fmt.Sprintf("%sDigest file\ts3://%s/%s\tvalid", tag(backfill), d.DigestS3Bucket, d.DigestS3Object), false)
}

// DigestInvalid implements Report.
func (p *Printer) DigestInvalid(message string, backfill bool) {
	if backfill {
		p.invalidBackfill++
	} else {
		p.invalidDigests++
	}
	p.status(tag(backfill)+message, true)
}

// Gap implements Report.
func (p *Printer) Gap(nextEnd, lastStart time.Time, backfill bool) {
	p.status(fmt.Sprintf("%sNo log files were delivered by CloudTrail between %s and %s", tag(backfill), displayDate(nextEnd), displayDate(lastStart)), true)
}

// LogValid implements Report.
func (p *Printer) LogValid(bucket, key string) {
	p.validLogs++
	p.status(fmt.Sprintf("Log file\ts3://%s/%s\tvalid", bucket, key), false)
}

// LogInvalid implements Report.
func (p *Printer) LogInvalid(message string) {
	p.invalidLogs++
	p.status(message, true)
}

// Summary writes the closing lines.
func (p *Printer) Summary() {
	if !p.spaced {
		fmt.Fprint(p.Stdout, "\n")
	}
	fmt.Fprintf(p.Stdout, "Results requested for %s to %s\n", displayDate(p.Start), displayDate(p.End))
	if p.validDigests+p.validBackfill+p.invalidDigests+p.invalidBackfill == 0 {
		fmt.Fprint(p.Stdout, "No digests found\n")
		return
	}
	if p.foundStart.IsZero() || p.foundEnd.IsZero() {
		fmt.Fprint(p.Stdout, "No valid digests found in range\n")
	} else {
		fmt.Fprintf(p.Stdout, "Results found for %s to %s:\n", displayDate(p.foundStart), displayDate(p.foundEnd))
	}
	p.ratio(p.validDigests, p.invalidDigests, "digest")
	p.ratio(p.validBackfill, p.invalidBackfill, "backfill digest")
	p.ratio(p.validLogs, p.invalidLogs, "log")
	fmt.Fprint(p.Stdout, "\n")
}

func (p *Printer) ratio(valid, invalid int, name string) {
	total := valid + invalid
	if total == 0 {
		return
	}
	fmt.Fprintf(p.Stdout, "\n%d/%d %s files valid", valid, total, name)
	if invalid > 0 {
		fmt.Fprintf(p.Stdout, ", %d/%d %s files INVALID", invalid, total, name)
	}
}

// Counts returns how many digests (standard and backfill) and log files were valid and invalid.
func (p *Printer) Counts() (validDigests, invalidDigests, validLogs, invalidLogs int) {
	return p.validDigests + p.validBackfill, p.invalidDigests + p.invalidBackfill, p.validLogs, p.invalidLogs
}

// ExitCode is validate-logs' status: 1 if any digest or log file was invalid, else 0.
func (p *Printer) ExitCode() int {
	if p.invalidDigests+p.invalidBackfill+p.invalidLogs > 0 {
		return 1
	}
	return 0
}
