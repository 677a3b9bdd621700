package projection

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	"github.com/resultmaterialize/controller/pkg/reasons"
)

// streamBuffer is the read size of the streaming scanner.
const streamBuffer = 256 << 10

// scanBuffer is the scanner's read size for a file of size bytes when
// opened: a small file takes a small buffer.
func scanBuffer(size int64) int64 { return min(streamBuffer, max(size, 0)+4096) }

// maxDepth is how deeply arrays and objects may nest, as in encoding/json.
const maxDepth = 10000

// node is one place in the tree of simple paths being streamed.
type node struct {
	keys    map[string]*node
	indexes map[int]*node
	// leaves are the targets that end here; under, every target at or
	// below, which a repeated key resets (the last occurrence wins, as
	// when the document is parsed whole).
	leaves []int
	under  []int
	// longest is the length of the longest key in keys: a longer key in
	// the document is skipped, not kept.
	longest int
}

func (n *node) child(s step) *node {
	if s.isIndex {
		if n.indexes == nil {
			n.indexes = map[int]*node{}
		}
		if n.indexes[s.index] == nil {
			n.indexes[s.index] = &node{}
		}
		return n.indexes[s.index]
	}
	if n.keys == nil {
		n.keys = map[string]*node{}
	}
	n.longest = max(n.longest, len(s.key))
	if n.keys[s.key] == nil {
		n.keys[s.key] = &node{}
	}
	return n.keys[s.key]
}

// capture collects one target's raw JSON while its value is scanned.
type capture struct {
	id    int
	start int
	data  []byte
	over  bool
}

// scanner validates a JSON document read from r in one pass, keeping the
// raw bytes of the values at the targets' paths and nothing else.
type scanner struct {
	r        io.Reader
	buf      []byte
	pos, end int
	base     int64
	readErr  error
	limit    int64
	found    [][]byte
	over     []bool
	active   []*capture
	scratch  []byte
	depth    int
	// captured counts the bytes kept for every target together.
	captured int64
}

// errRead marks a failure to read the file, as opposed to a bad document.
type errRead struct{ err error }

func (e errRead) Error() string { return e.err.Error() }

// streamPaths scans the document once and returns, per path, the raw JSON
// of its value (the last occurrence, as a whole parse sees it), or nil if
// nothing is there. Values over limit bytes, together, are refused. size
// is the file's size when opened.
func streamPaths(r io.Reader, size int64, paths [][]step, limit int64) ([][]byte, []bool, error) {
	root := &node{}
	for id, p := range paths {
		n := root
		n.under = append(n.under, id)
		for _, s := range p {
			n = n.child(s)
			n.under = append(n.under, id)
		}
		n.leaves = append(n.leaves, id)
	}
	s := &scanner{r: r, buf: make([]byte, scanBuffer(size)), limit: limit,
		found: make([][]byte, len(paths)), over: make([]bool, len(paths))}
	if err := s.value(root); err != nil {
		return nil, nil, err
	}
	c, err := s.skipSpace()
	if err == nil {
		return nil, nil, s.syntax("has data after its JSON document: %q", c)
	}
	if !errors.Is(err, io.EOF) {
		return nil, nil, err
	}
	return s.found, s.over, nil
}

func (s *scanner) offset() int64 { return s.base + int64(s.pos) }

func (s *scanner) syntax(format string, args ...any) error {
	return fail(reasons.ProjectionInvalidDocument, "is not valid JSON: %s at byte offset %d", fmt.Sprintf(format, args...), s.offset())
}

// fill reads more input once every byte in buf is consumed, first saving
// what active captures hold.
func (s *scanner) fill() error {
	if s.readErr != nil {
		return s.readErr
	}
	for _, c := range s.active {
		s.keep(c, s.buf[c.start:s.end])
		c.start = 0
	}
	s.base += int64(s.end)
	s.pos, s.end = 0, 0
	for s.end == 0 {
		n, err := s.r.Read(s.buf)
		s.end = n
		if err != nil {
			if !errors.Is(err, io.EOF) {
				err = errRead{err}
			}
			s.readErr = err
			if n == 0 {
				return err
			}
		}
	}
	return nil
}

func (s *scanner) keep(c *capture, b []byte) {
	if c.over {
		return
	}
	if s.captured += int64(len(b)); s.captured > s.limit {
		s.captured -= int64(len(c.data) + len(b))
		c.over, c.data = true, nil
		return
	}
	c.data = append(c.data, b...)
}

func (s *scanner) peek() (byte, error) {
	if s.pos == s.end {
		if err := s.fill(); err != nil {
			return 0, err
		}
	}
	return s.buf[s.pos], nil
}

// expectEnd turns the end of input in the middle of a value into a
// syntax error.
func (s *scanner) expectEnd(err error) error {
	if errors.Is(err, io.EOF) {
		return s.syntax("unexpected end of JSON input")
	}
	return err
}

func (s *scanner) skipSpace() (byte, error) {
	for {
		c, err := s.peek()
		if err != nil {
			return 0, err
		}
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return c, nil
		}
		s.pos++
	}
}

func (s *scanner) value(n *node) error {
	c, err := s.skipSpace()
	if err != nil {
		return s.expectEnd(err)
	}
	if n != nil {
		for _, id := range n.leaves {
			s.active = append(s.active, &capture{id: id, start: s.pos})
		}
	}
	switch {
	case c == '{':
		err = s.object(n)
	case c == '[':
		err = s.array(n)
	case c == '"':
		_, err = s.str(0)
	case c == 't':
		err = s.literal("true")
	case c == 'f':
		err = s.literal("false")
	case c == 'n':
		err = s.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		err = s.number()
	default:
		err = s.syntax("invalid character %q looking for beginning of value", c)
	}
	if err != nil {
		return err
	}
	if n != nil && len(n.leaves) > 0 {
		s.finish(len(n.leaves))
	}
	return nil
}

// finish ends the last k captures, which began at this value.
func (s *scanner) finish(k int) {
	done := s.active[len(s.active)-k:]
	s.active = s.active[:len(s.active)-k]
	for _, c := range done {
		s.keep(c, s.buf[c.start:s.pos])
		s.found[c.id], s.over[c.id] = c.data, c.over
		if c.data == nil && !c.over {
			s.found[c.id] = []byte{}
		}
	}
}

// open consumes the '{' or '[' at pos and the space after it, and says
// whether end closes the object or array at once; else it returns the
// first byte of its first member.
func (s *scanner) open(end byte) (byte, bool, error) {
	s.pos++
	if s.depth++; s.depth > maxDepth {
		return 0, false, s.syntax("exceeded max depth of %d", maxDepth)
	}
	c, err := s.skipSpace()
	if err != nil {
		return 0, false, s.expectEnd(err)
	}
	if c == end {
		s.pos++
		s.depth--
		return c, true, nil
	}
	return c, false, nil
}

func (s *scanner) object(n *node) error {
	c, empty, err := s.open('}')
	if err != nil || empty {
		return err
	}
	for {
		if c != '"' {
			return s.syntax("invalid character %q looking for beginning of object key string", c)
		}
		var child *node
		if n != nil && n.keys != nil {
			// An escape takes at most 6 bytes for a byte of the key.
			key, err := s.str(6*n.longest + 6)
			if err != nil {
				return err
			}
			if key != nil {
				child = n.keys[string(key)]
			}
		} else if _, err := s.str(0); err != nil {
			return err
		}
		if c, err = s.skipSpace(); err != nil {
			return s.expectEnd(err)
		}
		if c != ':' {
			return s.syntax("invalid character %q after object key", c)
		}
		s.pos++
		if child != nil {
			s.reset(child)
		}
		if err := s.value(child); err != nil {
			return err
		}
		if done, err := s.after('}', "object key:value pair"); err != nil || done {
			return err
		}
		if c, err = s.skipSpace(); err != nil {
			return s.expectEnd(err)
		}
	}
}

// after consumes what follows a member: a comma, or end, which closes the
// object or array.
func (s *scanner) after(end byte, member string) (bool, error) {
	c, err := s.skipSpace()
	if err != nil {
		return false, s.expectEnd(err)
	}
	switch c {
	case ',':
		s.pos++
		return false, nil
	case end:
		s.pos++
		s.depth--
		return true, nil
	default:
		return false, s.syntax("invalid character %q after %s", c, member)
	}
}

// reset forgets what an earlier occurrence of a repeated key gave.
func (s *scanner) reset(n *node) {
	for _, id := range n.under {
		s.captured -= int64(len(s.found[id]))
		s.found[id], s.over[id] = nil, false
	}
}

func (s *scanner) array(n *node) error {
	_, empty, err := s.open(']')
	if err != nil || empty {
		return err
	}
	for i := 0; ; i++ {
		var child *node
		if n != nil && n.indexes != nil {
			child = n.indexes[i]
		}
		if err := s.value(child); err != nil {
			return err
		}
		if done, err := s.after(']', "array element"); err != nil || done {
			return err
		}
	}
}

// str scans a string at pos and returns its decoded contents if its raw
// form is at most keep bytes, else nil.
func (s *scanner) str(keepUpTo int) ([]byte, error) {
	s.pos++
	s.scratch = s.scratch[:0]
	keep := keepUpTo > 0
	escaped := false
	for {
		if s.pos == s.end {
			if err := s.fill(); err != nil {
				return nil, s.expectEnd(err)
			}
		}
		b := s.buf[s.pos:s.end]
		i := 0
		for i < len(b) && b[i] != '"' && b[i] != '\\' && b[i] >= 0x20 {
			i++
		}
		if keep {
			if s.scratch = append(s.scratch, b[:max(0, min(i, keepUpTo+1-len(s.scratch)))]...); len(s.scratch) > keepUpTo {
				keep = false
			}
		}
		s.pos += i
		if i == len(b) {
			continue
		}
		switch c := b[i]; c {
		case '"':
			s.pos++
			switch {
			case !keep:
				return nil, nil
			case escaped || !utf8.Valid(s.scratch):
				return s.unquote()
			}
			return s.scratch, nil
		case '\\':
			escaped = true
			if err := s.escape(&keep, keepUpTo); err != nil {
				return nil, err
			}
		default:
			return nil, s.syntax("invalid character %q in string literal", c)
		}
	}
}

func (s *scanner) escape(keep *bool, keepUpTo int) error {
	s.pos++
	c, err := s.peek()
	if err != nil {
		return s.expectEnd(err)
	}
	s.pos++
	if *keep {
		if s.scratch = append(s.scratch, '\\', c); len(s.scratch) > keepUpTo {
			*keep = false
		}
	}
	switch c {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return nil
	case 'u':
		for range 4 {
			h, err := s.peek()
			if err != nil {
				return s.expectEnd(err)
			}
			if !isHex(h) {
				return s.syntax("invalid character %q in \\u hexadecimal character escape", h)
			}
			s.pos++
			if *keep {
				s.scratch = append(s.scratch, h)
			}
		}
		if len(s.scratch) > keepUpTo {
			*keep = false
		}
		return nil
	default:
		s.pos--
		return s.syntax("invalid character %q in string escape code", c)
	}
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func (s *scanner) unquote() ([]byte, error) {
	quoted := make([]byte, 0, len(s.scratch)+2)
	quoted = append(append(append(quoted, '"'), s.scratch...), '"')
	var out string
	if err := json.Unmarshal(quoted, &out); err != nil {
		return nil, s.syntax("%v", err)
	}
	return []byte(out), nil
}

func (s *scanner) literal(word string) error {
	for i := 0; i < len(word); i++ {
		c, err := s.peek()
		if err != nil {
			return s.expectEnd(err)
		}
		if c != word[i] {
			return s.syntax("invalid character %q in literal %s (expecting %q)", c, word, word[i])
		}
		s.pos++
	}
	return nil
}

// number checks -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?.
func (s *scanner) number() error {
	c, _ := s.peek()
	if c == '-' {
		s.pos++
		var err error
		if c, err = s.peek(); err != nil {
			return s.expectEnd(err)
		}
	}
	switch {
	case c == '0':
		s.pos++
	case c >= '1' && c <= '9':
		if _, err := s.digits(); err != nil {
			return err
		}
	default:
		return s.syntax("invalid character %q in numeric literal", c)
	}
	c, err := s.peek()
	if err != nil {
		return endOK(err)
	}
	if c == '.' {
		s.pos++
		if n, err := s.digits(); err != nil || n == 0 {
			return s.numberEnd(err)
		}
		if c, err = s.peek(); err != nil {
			return endOK(err)
		}
	}
	if c == 'e' || c == 'E' {
		s.pos++
		if c, err = s.peek(); err != nil {
			return s.expectEnd(err)
		}
		if c == '+' || c == '-' {
			s.pos++
		}
		if n, err := s.digits(); err != nil || n == 0 {
			return s.numberEnd(err)
		}
	}
	return nil
}

// numberEnd is the error for a fraction or exponent without digits; err
// is a read error from digits, if any.
func (s *scanner) numberEnd(err error) error {
	if err != nil {
		return err
	}
	c, err := s.peek()
	if err != nil {
		return s.expectEnd(err)
	}
	return s.syntax("invalid character %q in numeric literal", c)
}

func endOK(err error) error {
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

// digits consumes [0-9]* and says how many; the end of input ends them.
func (s *scanner) digits() (int, error) {
	n := 0
	for {
		c, err := s.peek()
		if err != nil {
			return n, endOK(err)
		}
		if c < '0' || c > '9' {
			return n, nil
		}
		s.pos++
		n++
	}
}
