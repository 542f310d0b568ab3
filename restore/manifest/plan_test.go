package manifest_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/leakgate/leakgate/restore/manifest"
)

// bk is an epoch-ending backup of epochs first..last; its manifest handle
// names its range and tag.
func bk(first, last uint64, tag string) manifest.EpochEndingBackupMeta {
	return manifest.EpochEndingBackupMeta{FirstEpoch: first, LastEpoch: last, FirstVersion: first * 1000, LastVersion: last*1000 + 999,
		Manifest: fmt.Sprintf("%d-%d%s", first, last, tag)}
}

func names(metas []manifest.EpochEndingBackupMeta) []string {
	out := []string{}
	for _, m := range metas {
		out = append(out, m.Manifest)
	}
	return out
}

func TestPlanEpochEnding(t *testing.T) {
	u := func(v uint64) *uint64 { return &v }
	tests := []struct {
		name    string
		metas   []manifest.EpochEndingBackupMeta
		target  *uint64
		want    []string
		wantGap *manifest.GapError
		wantErr error
	}{
		{name: "one backup", metas: []manifest.EpochEndingBackupMeta{bk(0, 9, "")}, want: []string{"0-9"}},
		{name: "sorted chain", metas: []manifest.EpochEndingBackupMeta{bk(20, 29, ""), bk(0, 9, ""), bk(10, 19, "")}, want: []string{"0-9", "10-19", "20-29"}},
		{name: "duplicates dropped", metas: []manifest.EpochEndingBackupMeta{bk(0, 9, ""), bk(10, 19, ""), bk(0, 9, ""), bk(10, 19, "")}, want: []string{"0-9", "10-19"}},
		{name: "target inside a backup", metas: []manifest.EpochEndingBackupMeta{bk(0, 9, ""), bk(10, 19, ""), bk(20, 29, "")}, target: u(15), want: []string{"0-9", "10-19"}},
		{name: "target at a boundary", metas: []manifest.EpochEndingBackupMeta{bk(0, 9, ""), bk(10, 19, "")}, target: u(9), want: []string{"0-9"}},
		{name: "target 0", metas: []manifest.EpochEndingBackupMeta{bk(0, 9, "")}, target: u(0), want: []string{"0-9"}},
		{name: "gap in the middle", metas: []manifest.EpochEndingBackupMeta{bk(0, 9, ""), bk(20, 29, "")}, wantGap: &manifest.GapError{From: 10, To: 19}},
		{name: "gap past a later backup ignored by target", metas: []manifest.EpochEndingBackupMeta{bk(0, 9, ""), bk(20, 29, "")}, target: u(5), want: []string{"0-9"}},
		{name: "nothing at 0", metas: []manifest.EpochEndingBackupMeta{bk(3, 9, "")}, wantGap: &manifest.GapError{From: 0, To: 2}},
		{name: "target beyond all", metas: []manifest.EpochEndingBackupMeta{bk(0, 9, "")}, target: u(30), wantGap: &manifest.GapError{From: 10, To: 30}},
		{name: "no backups with target", target: u(4), wantGap: &manifest.GapError{From: 0, To: 4}},
		{name: "no backups", wantErr: manifest.ErrNoBackups},
		{name: "prefer the one reaching further", metas: []manifest.EpochEndingBackupMeta{bk(0, 4, ""), bk(0, 9, ""), bk(5, 9, ""), bk(10, 19, "")},
			want: []string{"0-9", "10-19"}},
		{name: "further reach that dead-ends loses", metas: []manifest.EpochEndingBackupMeta{bk(0, 5, ""), bk(0, 3, ""), bk(4, 9, "")},
			want: []string{"0-3", "4-9"}},
		{name: "overlapping start not used", metas: []manifest.EpochEndingBackupMeta{bk(0, 5, ""), bk(3, 9, ""), bk(10, 12, "")},
			wantGap: &manifest.GapError{From: 6, To: 9}},
		{name: "overlap bridged by an exact start", metas: []manifest.EpochEndingBackupMeta{bk(0, 5, ""), bk(3, 9, ""), bk(6, 9, ""), bk(10, 12, "")},
			want: []string{"0-5", "6-9", "10-12"}},
		{name: "same range, manifest sorting first wins", metas: []manifest.EpochEndingBackupMeta{bk(0, 9, "b"), bk(0, 9, "a")}, want: []string{"0-9a"}},
		{name: "fewest backups", metas: []manifest.EpochEndingBackupMeta{bk(0, 1, ""), bk(2, 3, ""), bk(4, 9, ""), bk(0, 3, "")},
			want: []string{"0-3", "4-9"}},
		{name: "last epoch of u64", metas: []manifest.EpochEndingBackupMeta{bk(0, 1<<64-1, "")}, want: []string{"0-18446744073709551615"}},
		{name: "reversed range", metas: []manifest.EpochEndingBackupMeta{bk(0, 9, ""), bk(12, 10, "")}, wantErr: manifest.ErrInvalidRange},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := slices.Clone(tt.metas)
			got, err := manifest.PlanEpochEnding(tt.metas, tt.target)
			if !slices.Equal(in, tt.metas) {
				t.Errorf("PlanEpochEnding modified its input")
			}
			switch {
			case tt.wantGap != nil:
				var gap *manifest.GapError
				if !errors.As(err, &gap) || *gap != *tt.wantGap || !errors.Is(err, manifest.ErrGap) {
					t.Fatalf("PlanEpochEnding = %v, %v; want gap %+v", names(got), err, *tt.wantGap)
				}
				if got != nil {
					t.Errorf("plan %v returned with an error", names(got))
				}
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("PlanEpochEnding error = %v, want %v", err, tt.wantErr)
				}
			default:
				if err != nil {
					t.Fatalf("PlanEpochEnding: %v", err)
				}
				if !slices.Equal(names(got), tt.want) {
					t.Errorf("plan = %v, want %v", names(got), tt.want)
				}
			}
		})
	}
}

func TestGapErrorText(t *testing.T) {
	_, err := manifest.PlanEpochEnding([]manifest.EpochEndingBackupMeta{bk(0, 9, ""), bk(20, 29, "")}, nil)
	want := "epoch-ending backups leave a gap: epochs 10..19 are missing (no backup starts at epoch 10)"
	if err == nil || err.Error() != want {
		t.Errorf("error = %v, want %q", err, want)
	}
}
