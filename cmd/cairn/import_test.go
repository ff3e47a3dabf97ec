package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/cairn-dev/cairn/internal/importer"
)

// The progress line shows files, events and bytes per second, and the bar once the total is known.
func TestProgressBarLine(t *testing.T) {
	for _, tt := range []struct {
		p    importer.Progress
		want []string
	}{
		{importer.Progress{FilesListed: 40, FilesDone: 3, Records: 2000, BytesRead: 4e6}, []string{"files 3/40+", "events 2000 (", "/s) · ", " MB/s"}},
		{importer.Progress{FilesListed: 40, FilesDone: 20, Listed: true, BytesListed: 8e6, BytesRead: 4e6, Records: 9000},
			[]string{"[==========          ]", "files 20/40 ", "events 9000 ("}},
	} {
		var out bytes.Buffer
		b := &progressBar{w: &out, get: func() importer.Progress { return tt.p }, start: time.Now().Add(-2 * time.Second)}
		b.draw()
		for _, w := range tt.want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("progress line %q lacks %q", out.String(), w)
			}
		}
	}
}
