package resultmaterialize

import "testing"

func TestReadAsArray(t *testing.T) {
	for v, want := range map[string]bool{
		`["a"]`: true, "\t[\"a\",\"b\"]\n": true, `[]`: false, `[1]`: false, `["a",1]`: false, `a`: false, `"[\"a\"]"`: false, `null`: false,
	} {
		if got := ReadAsArray(v); got != want {
			t.Errorf("ReadAsArray(%q) = %v, want %v", v, got, want)
		}
	}
}
