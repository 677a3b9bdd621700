package protocol

import "unicode/utf8"

// TruncateUTF8 returns the longest prefix of b of at most n bytes that
// does not end inside a multi-byte UTF-8 sequence. Bytes after n are not
// looked at, so it works on a head that a source already cut. Invalid bytes
// before the cut are kept, so validation still reports them.
func TruncateUTF8(b []byte, n int) []byte {
	if n < 0 {
		n = 0
	}
	if n < len(b) {
		b = b[:n]
	}
	// A rune is at most 4 bytes: its start is among the last 3.
	for s := len(b) - 1; s >= 0 && s >= len(b)-(utf8.UTFMax-1); s-- {
		if utf8.RuneStart(b[s]) {
			if !utf8.FullRune(b[s:]) {
				return b[:s]
			}
			return b
		}
	}
	return b
}
