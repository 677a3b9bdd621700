package protocol

import (
	"bytes"
	"testing"
	"unicode/utf8"
)

func TestTruncateUTF8(t *testing.T) {
	euro := "€" // 3 bytes: e2 82 ac
	tests := []struct {
		name string
		in   string
		n    int
		want string
	}{
		{name: "ascii", in: "hello", n: 3, want: "hel"},
		{name: "whole", in: "hello", n: 10, want: "hello"},
		{name: "zero", in: "hello", n: 0, want: ""},
		{name: "negative", in: "hello", n: -1, want: ""},
		{name: "cut inside euro after 1 byte", in: "a" + euro, n: 2, want: "a"},
		{name: "cut inside euro after 2 bytes", in: "a" + euro, n: 3, want: "a"},
		{name: "cut after euro", in: "a" + euro + "b", n: 4, want: "a" + euro},
		{name: "cut inside 4-byte rune", in: "😀x", n: 3, want: ""},
		{name: "invalid byte kept", in: "a\xffb", n: 2, want: "a\xff"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(TruncateUTF8([]byte(tc.in), tc.n)); got != tc.want {
				t.Errorf("TruncateUTF8(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
			}
		})
	}
}

func FuzzTruncateUTF8(f *testing.F) {
	f.Add([]byte("a€b😀"), 3)
	f.Add([]byte("\xe2\x82"), 1)
	f.Fuzz(func(t *testing.T, b []byte, n int) {
		got := TruncateUTF8(b, n)
		if !bytes.HasPrefix(b, got) {
			t.Fatalf("TruncateUTF8(%q, %d) = %q is not a prefix", b, n, got)
		}
		limit := max(0, min(n, len(b)))
		if len(got) > limit || len(got) < limit-(utf8.UTFMax-1) {
			t.Fatalf("TruncateUTF8(%q, %d) has length %d, want within 3 bytes below %d", b, n, len(got), limit)
		}
		if utf8.Valid(b) && !utf8.Valid(got) {
			t.Fatalf("TruncateUTF8(%q, %d) = %q cut a valid string inside a rune", b, n, got)
		}
	})
}
