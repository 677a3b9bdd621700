package resultmaterialize

import "testing"

func TestCheckName(t *testing.T) {
	for _, ok := range []string{"a", "digest", "my-result.v1", "A_1"} {
		if err := CheckName(ok); err != nil {
			t.Errorf("CheckName(%q) = %v, want nil", ok, err)
		}
	}
	for _, bad := range []string{"", "-a", "a-", "a b", "a/b", "é"} {
		if err := CheckName(bad); err == nil {
			t.Errorf("CheckName(%q) = nil, want an error", bad)
		}
	}
}

func TestCheckCollisions(t *testing.T) {
	tests := []struct {
		names []string
		want  string
	}{
		{names: []string{"a", "b"}},
		{names: []string{"a", "a"}, want: `result "a" is listed twice`},
		{names: []string{"a", "a-size"}, want: `result "a-size" collides with a companion of result "a"`},
		{names: []string{"a-path", "a"}, want: `result "a-path" collides with a companion of result "a"`},
	}
	for _, tc := range tests {
		err := CheckCollisions(tc.names)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tc.want {
			t.Errorf("CheckCollisions(%q) = %q, want %q", tc.names, got, tc.want)
		}
	}
}

func TestCleanPath(t *testing.T) {
	tests := []struct{ in, want, err string }{
		{in: "a", want: "a"},
		{in: "./dir//a", want: "dir/a"},
		{in: "", err: "path is empty"},
		{in: "/etc/passwd", err: `path "/etc/passwd" is absolute: want a path relative to the workspace root`},
		{in: "a/../../b", err: `path "a/../../b" contains "..": paths must stay inside the workspace`},
		{in: "a\x00b", err: `path "a\x00b" contains a NUL byte`},
	}
	for _, tc := range tests {
		got, err := CleanPath(tc.in)
		gotErr := ""
		if err != nil {
			gotErr = err.Error()
		}
		if got != tc.want || gotErr != tc.err {
			t.Errorf("CleanPath(%q) = %q, %q; want %q, %q", tc.in, got, gotErr, tc.want, tc.err)
		}
	}
}
