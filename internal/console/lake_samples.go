package console

import (
	"strings"

	"github.com/cairn-dev/cairn/internal/lake"
)

// sampleFor returns the sample's SQL reading the store with ID id, the one picked on the page.
func sampleFor(s lake.Sample, id string) string {
	var pairs []string
	for _, p := range lake.SamplePlaceholders {
		pairs = append(pairs, p, id)
	}
	return strings.NewReplacer(pairs...).Replace(s.SQL)
}
