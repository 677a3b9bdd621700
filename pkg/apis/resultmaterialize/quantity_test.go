package resultmaterialize

import (
	"strconv"
	"testing"
)

func TestParseQuantity(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{in: "0", want: 0},
		{in: "1000", want: 1000},
		{in: "4Ki", want: 4096},
		{in: "1Mi", want: 1 << 20},
		{in: "2k", want: 2000},
		{in: "1M", want: 1000000},
		{in: "1Gi", want: 1 << 30},
		{in: "4KB", wantErr: true},
		{in: "-1", wantErr: true},
		{in: "+1", wantErr: true},
		{in: "1.5Ki", wantErr: true},
		{in: "1e3", wantErr: true},
		{in: "", wantErr: true},
		{in: "Ki", wantErr: true},
		{in: " 1", wantErr: true},
		{in: "99999999999999999999", wantErr: true},
		{in: "2048Gi", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseQuantity(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("ParseQuantity(%q) error = %v, wantErr %v", tc.in, err, tc.wantErr)
			}
			if got != tc.want {
				t.Errorf("ParseQuantity(%q) = %d, want %d", tc.in, got, tc.want)
			}
		})
	}
}

func TestParseThresholdLimit(t *testing.T) {
	if _, err := ParseThreshold("1Mi"); err != nil {
		t.Errorf("1Mi is the limit and must be accepted: %v", err)
	}
	_, err := ParseThreshold("1025Ki")
	if err == nil {
		t.Fatal("1025Ki is above the limit and must be refused")
	}
	const want = `"1025Ki" is 1049600 bytes, above the limit of 1048576 bytes (1Mi)`
	if err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
}

func FuzzParseQuantity(f *testing.F) {
	for _, s := range []string{"0", "4Ki", "1Mi", "4KB", "-1", "1.5", "999999999999Gi"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseQuantity(s)
		if err != nil {
			return
		}
		if n < 0 || n > MaxThreshold*1024 {
			t.Fatalf("ParseQuantity(%q) = %d, outside [0, %d]", s, n, MaxThreshold*1024)
		}
		if plain, perr := strconv.ParseInt(s, 10, 64); perr == nil && plain != n {
			t.Fatalf("ParseQuantity(%q) = %d, but it is the plain integer %d", s, n, plain)
		}
	})
}
