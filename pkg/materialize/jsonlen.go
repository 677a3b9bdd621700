package materialize

import "unicode/utf8"

// JSONLen is how many bytes s takes inside a JSON string as the API server
// stores it (Go's encoding/json, HTML-safe): '<', '>', '&', U+2028, U+2029
// and most control characters take 6, '"', '\\' and the short escapes 2.
// Thresholds and the inline budget count this, not the file's bytes: a
// value of 1 MiB of '<' is a 6 MiB object.
func JSONLen(s string) int64 {
	var n int64
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			n += asciiLen(c)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			n += 6
		case r == '\u2028' || r == '\u2029':
			n += 6
		default:
			n += int64(size)
		}
		i += size
	}
	return n
}

func asciiLen(c byte) int64 {
	switch c {
	case '"', '\\', '\n', '\r', '\t', '\b', '\f':
		return 2
	case '<', '>', '&':
		return 6
	}
	if c < 0x20 {
		return 6
	}
	return 1
}

// prefixWithin returns the longest prefix of the text b whose JSONLen is
// at most limit, never ending inside a rune. An invalid byte counts as
// one and is kept, so validation still reports it.
func prefixWithin(b []byte, limit int64) []byte {
	var n int64
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		switch {
		case r == utf8.RuneError && size <= 1 && !utf8.FullRune(b[i:]):
			return b[:i]
		case r == utf8.RuneError && size <= 1:
			n++
		default:
			n += JSONLen(string(b[i : i+size]))
		}
		if n > limit {
			return b[:i]
		}
		i += size
	}
	return b
}
