package layers

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/paulmach/orb"
)

func TestStateAt(t *testing.T) {
	t0 := time.Date(2021, 4, 6, 12, 0, 0, 0, time.UTC)
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	feat := func(id, posture string) *Feature {
		return NewFeature(id, orb.Point{37, 48}, map[string]any{"posture": posture})
	}
	// a: created at 0, edited at 10, retracted at 20.
	// b: created at 5, edited at 15 and 15.5 (same minute, two versions).
	// c: created at 30.
	revs := []Revision{
		{ID: "c", Version: 1, Op: OpCreate, Time: at(30), Feature: feat("c", "staging")},
		{ID: "a", Version: 3, Op: OpDelete, Time: at(20), Feature: feat("a", "moving")},
		{ID: "a", Version: 1, Op: OpCreate, Time: at(0), Feature: feat("a", "staging")},
		{ID: "b", Version: 2, Op: OpUpdate, Time: at(15), Feature: feat("b", "defensive")},
		{ID: "a", Version: 2, Op: OpUpdate, Time: at(10), Feature: feat("a", "moving")},
		{ID: "b", Version: 1, Op: OpCreate, Time: at(5), Feature: feat("b", "assembly_area")},
		{ID: "b", Version: 3, Op: OpReplace, Time: at(15).Add(30 * time.Second), Feature: feat("b", "attacking")},
	}
	for _, tc := range []struct {
		name string
		t    time.Time
		want []string // id=posture
	}{
		{"before everything", at(-1), nil},
		{"at the first create, inclusive", at(0), []string{"a=staging"}},
		{"after b's create", at(7), []string{"a=staging", "b=assembly_area"}},
		{"after a's edit", at(10), []string{"a=moving", "b=assembly_area"}},
		{"between b's two edits in one minute", at(15).Add(10 * time.Second), []string{"a=moving", "b=defensive"}},
		{"after a's retraction", at(20), []string{"b=attacking"}},
		{"now", at(60), []string{"b=attacking", "c=staging"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs, err := StateAt(context.Background(), revs, tc.t)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range fs {
				got = append(got, f.ID+"="+f.Props.Get("posture").(string))
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("StateAt(%s) = %v, want %v", tc.t.Format(time.RFC3339), got, tc.want)
			}
		})
	}
}
