package metrics

import (
	"encoding/binary"
	"errors"
	"math"
	"sort"
)

// sketch is a mergeable histogram with logarithmic buckets (the DDSketch scheme) that answers
// percentiles with a relative error of at most sketchAlpha (1%): every value v > 0 falls in bucket
// ceil(log_γ v) with γ = (1+α)/(1−α), and the bucket is represented by 2γ^i/(γ+1), which is
// within α of every value in it. Negative values mirror positive ones; values closer to zero
// than sketchMinValue count as zero. CloudWatch itself answers percentiles approximately too; a
// sketch keeps a minute's storage at a few hundred bytes however many samples arrive, and minutes
// merge exactly into any Period. Queries clamp the answer to the minute's exact minimum and maximum.
type sketch struct {
	pos, neg map[int32]float64
	zero     float64
}

const (
	sketchAlpha    = 0.01
	sketchMinValue = 1e-9
)

var (
	sketchGamma    = (1 + sketchAlpha) / (1 - sketchAlpha)
	sketchLogGamma = math.Log(sketchGamma)
)

func newSketch() *sketch { return &sketch{pos: map[int32]float64{}, neg: map[int32]float64{}} }

func sketchIndex(v float64) int32 { return int32(math.Ceil(math.Log(v) / sketchLogGamma)) }

func sketchValue(i int32) float64 { return 2 * math.Pow(sketchGamma, float64(i)) / (sketchGamma + 1) }

// add records count observations of v.
func (s *sketch) add(v, count float64) {
	switch {
	case v > sketchMinValue:
		s.pos[sketchIndex(v)] += count
	case v < -sketchMinValue:
		s.neg[sketchIndex(-v)] += count
	default:
		s.zero += count
	}
}

func (s *sketch) merge(o *sketch) {
	for i, c := range o.pos {
		s.pos[i] += c
	}
	for i, c := range o.neg {
		s.neg[i] += c
	}
	s.zero += o.zero
}

func (s *sketch) total() float64 {
	t := s.zero
	for _, c := range s.pos {
		t += c
	}
	for _, c := range s.neg {
		t += c
	}
	return t
}

// quantile returns the value at q (0..1), NaN for an empty sketch.
func (s *sketch) quantile(q float64) float64 {
	n := s.total()
	if n <= 0 {
		return math.NaN()
	}
	rank := q * (n - 1)
	var seen float64
	neg := sortedKeys(s.neg)
	for i := len(neg) - 1; i >= 0; i-- { // most negative first
		seen += s.neg[neg[i]]
		if seen > rank {
			return -sketchValue(neg[i])
		}
	}
	seen += s.zero
	if seen > rank {
		return 0
	}
	pos := sortedKeys(s.pos)
	for _, k := range pos {
		seen += s.pos[k]
		if seen > rank {
			return sketchValue(k)
		}
	}
	if len(pos) > 0 {
		return sketchValue(pos[len(pos)-1])
	}
	return 0
}

func sortedKeys(m map[int32]float64) []int32 {
	keys := make([]int32, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	return keys
}

// marshal encodes the sketch: zero count, then each side as a count of buckets followed by
// (zig-zag varint index, float64 count) pairs, ascending.
func (s *sketch) marshal() []byte {
	b := binary.LittleEndian.AppendUint64(nil, math.Float64bits(s.zero))
	for _, side := range []map[int32]float64{s.pos, s.neg} {
		b = binary.AppendUvarint(b, uint64(len(side)))
		for _, k := range sortedKeys(side) {
			b = binary.AppendVarint(b, int64(k))
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(side[k]))
		}
	}
	return b
}

var errBadSketch = errors.New("malformed percentile sketch")

func unmarshalSketch(b []byte) (*sketch, error) {
	s := newSketch()
	if len(b) < 8 {
		return nil, errBadSketch
	}
	s.zero = math.Float64frombits(binary.LittleEndian.Uint64(b))
	b = b[8:]
	for _, side := range []map[int32]float64{s.pos, s.neg} {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)) {
			return nil, errBadSketch
		}
		b = b[k:]
		for ; n > 0; n-- {
			idx, k := binary.Varint(b)
			if k <= 0 || len(b) < k+8 || idx < math.MinInt32 || idx > math.MaxInt32 {
				return nil, errBadSketch
			}
			side[int32(idx)] = math.Float64frombits(binary.LittleEndian.Uint64(b[k:]))
			b = b[k+8:]
		}
	}
	return s, nil
}
