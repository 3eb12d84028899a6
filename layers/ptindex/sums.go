package ptindex

import (
	"math/bits"
	"slices"
	"sort"

	"troopmap/geo/tile"
)

// Clusters at low zooms cover hundreds of thousands of reports. Without a
// filter, a cell's cluster depends only on which entries its code range
// holds, so prefix sums over the sorted entries give any cell's aggregate
// at any zoom with two binary searches, instead of a pass over its points.
// Only the latest time is not a sum: it comes from the maxima of fixed
// blocks of entries and a sparse table over those blocks.

// blockBits is log2 of the entries per block of the range-maximum table.
const blockBits = 6

// sums holds the prefix sums of an index: element i covers entries[:i].
type sums struct {
	sx, sy []uint64
	w      []float64 // weights are integral, so float64 sums are exact
	cats   [8][]uint32
	// sparse[k][b] is the greatest Start of the 2^k blocks from block b.
	sparse [][]int64
}

func (ix *Index) buildSums() {
	n := len(ix.entries)
	s := &ix.sums
	s.sx, s.sy, s.w = make([]uint64, n+1), make([]uint64, n+1), make([]float64, n+1)
	used := [8]bool{}
	for i := range ix.entries {
		if c := ix.entries[i].Cat; c >= 0 && int(c) < len(used) {
			used[c] = true
		}
	}
	for c := range used {
		if used[c] {
			s.cats[c] = make([]uint32, n+1)
		}
	}
	for i := range ix.entries {
		e := &ix.entries[i]
		s.sx[i+1] = s.sx[i] + uint64(e.QX)
		s.sy[i+1] = s.sy[i] + uint64(e.QY)
		s.w[i+1] = s.w[i] + e.Weight
		for c, p := range s.cats {
			if p != nil {
				p[i+1] = p[i]
				if int(e.Cat) == c {
					p[i+1]++
				}
			}
		}
	}
	nb := (n + 1<<blockBits - 1) >> blockBits
	if nb == 0 {
		return
	}
	level := make([]int64, nb)
	for b := range level {
		level[b] = noTime
		for i := b << blockBits; i < min(n, (b+1)<<blockBits); i++ {
			level[b] = max(level[b], ix.entries[i].Start)
		}
	}
	s.sparse = append(s.sparse, level)
	for k := 1; 1<<k <= nb; k++ {
		prev := s.sparse[k-1]
		next := make([]int64, nb-1<<k+1)
		for b := range next {
			next[b] = max(prev[b], prev[b+1<<(k-1)])
		}
		s.sparse = append(s.sparse, next)
	}
}

// latest returns the greatest Start of entries[i:j], noTime when none has one.
func (ix *Index) latest(i, j int) int64 {
	m := int64(noTime)
	bi := (i + 1<<blockBits - 1) >> blockBits // first whole block
	bj := j >> blockBits                      // end of the whole blocks
	if bi >= bj {
		for ; i < j; i++ {
			m = max(m, ix.entries[i].Start)
		}
		return m
	}
	for k := i; k < bi<<blockBits; k++ {
		m = max(m, ix.entries[k].Start)
	}
	for k := bj << blockBits; k < j; k++ {
		m = max(m, ix.entries[k].Start)
	}
	k := bits.Len(uint(bj-bi)) - 1
	return max(m, ix.sums.sparse[k][bi], ix.sums.sparse[k][bj-1<<k])
}

// span returns the index range of the core entries with codes in [lo, hi].
func (ix *Index) span(lo, hi uint64) (int, int) { return spanOf(ix.entries, lo, hi) }

// spanOf returns the index range of the entries of a code-ordered slice
// with codes in [lo, hi].
func spanOf(es []Entry, lo, hi uint64) (int, int) {
	i, _ := slices.BinarySearchFunc(es, lo, func(e Entry, c uint64) int { return cmp(e.Code, c) })
	j := sort.Search(len(es)-i, func(k int) bool { return es[i+k].Code > hi })
	return i, i + j
}

// Aggregate adds every entry with a code in [lo, hi] to a: what a pass
// adding each entry with a.Add would give. Over the core it takes time
// logarithmic in the index size; a range that lost core entries since the
// build is added entry by entry.
func (ix *Index) Aggregate(lo, hi uint64, a *tile.Agg) {
	d := ix.delta
	if d != nil && len(inRange(d.removed, lo, hi)) > 0 {
		ix.Each(lo, hi, func(e *Entry) { e.AddTo(a) })
		return
	}
	if i, j := ix.span(lo, hi); i < j {
		s := &ix.sums
		var counts [8]int
		for c, p := range s.cats {
			if p != nil {
				counts[c] = int(p[j] - p[i])
			}
		}
		t := ix.latest(i, j)
		a.AddRun(j-i, s.sx[j]-s.sx[i], s.sy[j]-s.sy[i], s.w[j]-s.w[i], counts, t, t != noTime, ix.entries[i].F)
	}
	if d != nil {
		es := inRange(d.added, lo, hi)
		for k := range es {
			es[k].AddTo(a)
		}
	}
}

// AddTo adds the entry to a cluster aggregate.
func (e *Entry) AddTo(a *tile.Agg) {
	t := e.StartNs()
	a.Add(e.QX, e.QY, e.Weight, int(e.Cat), t, t != 0, e.F, 0)
}
