package wecom

import (
	"bytes"
	"encoding/binary"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The flat XML tokenizer the callback envelope and the event parser share.

// text is the input of the scanner: the envelope is read straight from the
// request body ([]byte), the event from one string copy of msg.
type text interface{ ~string | ~[]byte }

// maxDepth bounds element nesting. WeCom documents nest two levels; the cap
// keeps the name stack fixed-size.
const maxDepth = 32

type tokKind uint8

const (
	tokEOF   tokKind = iota
	tokStart         // data = element name; depth = depth including it (root = 1)
	tokEnd           // data = element name; depth = depth including it
	tokText          // data = raw character data, entities not decoded
	tokCDATA         // data = CDATA content
)

type token[T text] struct {
	kind  tokKind
	data  T
	depth int // for text: number of open elements around it
}

// scanner tokenises one XML document. Each call to next consumes input,
// and every search starts where the previous one ended, so a document of n
// bytes costs O(n). It rejects DOCTYPE declarations (no entity expansion),
// mismatched or unclosed tags, a second root, text outside the root and
// undefined entities (at decode time).
type scanner[T text] struct {
	s          T
	i          int
	depth      int
	names      [maxDepth]T
	rootDone   bool
	pendingEnd bool // a self-closing tag was returned as tokStart
}

func (sc *scanner[T]) fail(what string) error {
	return malformed(-40002, "XML: "+what+" at byte "+strconv.Itoa(sc.i), nil)
}

func (sc *scanner[T]) next() (token[T], error) {
	if sc.pendingEnd {
		sc.pendingEnd = false
		return sc.closeElement(), nil
	}
	s := sc.s
	if sc.i == 0 {
		sc.i = skipBOM(s)
	}
	for {
		if sc.i >= len(s) {
			if sc.depth > 0 || !sc.rootDone {
				return token[T]{}, sc.fail("unexpected end")
			}
			return token[T]{kind: tokEOF}, nil
		}
		if s[sc.i] != '<' {
			j := indexByteFrom(s, sc.i, '<')
			if j < 0 {
				j = len(s)
			}
			data := s[sc.i:j]
			if sc.depth == 0 {
				if skipSpace(data, 0) != len(data) {
					return token[T]{}, sc.fail("text outside the root element")
				}
				sc.i = j
				continue
			}
			if indexFrom(data, 0, "]]>") >= 0 {
				return token[T]{}, sc.fail("]]> outside CDATA")
			}
			if !checkEntities(data) {
				return token[T]{}, sc.fail("bad entity")
			}
			sc.i = j
			return token[T]{kind: tokText, data: data, depth: sc.depth}, nil
		}
		rest := s[sc.i:]
		switch {
		case hasPrefix(rest, "<!--"):
			end := indexFrom(s, sc.i+4, "-->")
			if end < 0 {
				return token[T]{}, sc.fail("unterminated comment")
			}
			sc.i = end + 3
		case hasPrefix(rest, "<![CDATA["):
			if sc.depth == 0 {
				return token[T]{}, sc.fail("CDATA outside the root element")
			}
			start := sc.i + 9
			end := indexFrom(s, start, "]]>")
			if end < 0 {
				return token[T]{}, sc.fail("unterminated CDATA")
			}
			sc.i = end + 3
			return token[T]{kind: tokCDATA, data: s[start:end], depth: sc.depth}, nil
		case hasPrefix(rest, "<!"):
			return token[T]{}, sc.fail("declaration not allowed")
		case hasPrefix(rest, "<?"):
			end := indexFrom(s, sc.i+2, "?>")
			if nameEnd(s, sc.i+2) == sc.i+2 {
				return token[T]{}, sc.fail("processing instruction without a target")
			}
			if end < 0 {
				return token[T]{}, sc.fail("unterminated processing instruction")
			}
			sc.i = end + 2
		case hasPrefix(rest, "</"):
			return sc.endTag()
		default:
			return sc.startTag()
		}
	}
}

func (sc *scanner[T]) endTag() (token[T], error) {
	s := sc.s
	start := sc.i + 2
	end := nameEnd(s, start)
	if end == start {
		return token[T]{}, sc.fail("bad end tag")
	}
	j := skipSpace(s, end)
	if j >= len(s) || s[j] != '>' {
		return token[T]{}, sc.fail("bad end tag")
	}
	if sc.depth == 0 || !eq(sc.names[sc.depth-1], s[start:end]) {
		return token[T]{}, sc.fail("mismatched end tag")
	}
	sc.i = j + 1
	return sc.closeElement(), nil
}

func (sc *scanner[T]) closeElement() token[T] {
	tok := token[T]{kind: tokEnd, data: sc.names[sc.depth-1], depth: sc.depth}
	sc.depth--
	if sc.depth == 0 {
		sc.rootDone = true
	}
	return tok
}

func (sc *scanner[T]) startTag() (token[T], error) {
	s := sc.s
	start := sc.i + 1
	end := nameEnd(s, start)
	if end == start {
		return token[T]{}, sc.fail("bad start tag")
	}
	if sc.depth == 0 && sc.rootDone {
		return token[T]{}, sc.fail("second root element")
	}
	if sc.depth == maxDepth {
		return token[T]{}, sc.fail("elements nested too deep")
	}
	j := end
	selfClose := false
	for {
		k := skipSpace(s, j)
		if k >= len(s) {
			return token[T]{}, sc.fail("unterminated start tag")
		}
		if s[k] == '>' {
			j = k + 1
			break
		}
		if s[k] == '/' {
			if k+1 >= len(s) || s[k+1] != '>' {
				return token[T]{}, sc.fail("bad start tag")
			}
			j = k + 2
			selfClose = true
			break
		}
		// An attribute: whitespace, name, '=', quoted value without '<'.
		ne := nameEnd(s, k)
		if k == j || ne == k {
			return token[T]{}, sc.fail("bad attribute")
		}
		k = skipSpace(s, ne)
		if k >= len(s) || s[k] != '=' {
			return token[T]{}, sc.fail("bad attribute")
		}
		k = skipSpace(s, k+1)
		if k >= len(s) || (s[k] != '"' && s[k] != '\'') {
			return token[T]{}, sc.fail("bad attribute")
		}
		q := indexByteFrom(s, k+1, s[k])
		if q < 0 || indexByteFrom(s[:q], k+1, '<') >= 0 || !checkEntities(s[k+1:q]) {
			return token[T]{}, sc.fail("bad attribute")
		}
		j = q + 1
	}
	sc.i = j
	sc.names[sc.depth] = s[start:end]
	sc.depth++
	sc.pendingEnd = selfClose
	return token[T]{kind: tokStart, data: s[start:end], depth: sc.depth}, nil
}

// textAcc joins the character data of one element. The common case, a
// single CDATA section or plain run without entities, is kept as a
// sub-slice of the input: no copy.
type textAcc[T text] struct {
	val  T
	buf  []byte
	slow bool
	err  error
}

func (a *textAcc[T]) reset() { *a = textAcc[T]{} }

func (a *textAcc[T]) add(seg T, cdata bool) {
	if len(seg) == 0 || a.err != nil {
		return
	}
	clean := cdata || indexByteFrom(seg, 0, '&') < 0
	if !a.slow && len(a.val) == 0 && clean {
		a.val = seg
		return
	}
	if !a.slow {
		a.buf = append([]byte(nil), a.val...)
		a.slow = true
	}
	if cdata {
		a.buf = append(a.buf, seg...)
	} else {
		a.buf, a.err = appendUnescaped(a.buf, seg)
	}
}

func (a *textAcc[T]) value() (T, error) {
	if a.slow {
		return T(a.buf), a.err
	}
	return a.val, nil
}

// appendUnescaped decodes the five predefined entities and character
// references; anything else after '&' is an error.
func appendUnescaped[T text](dst []byte, s T) ([]byte, error) {
	for i := 0; i < len(s); {
		j := indexByteFrom(s, i, '&')
		if j < 0 {
			return append(dst, s[i:]...), nil
		}
		dst = append(dst, s[i:j]...)
		r, next, ok := entity(s, j)
		if !ok {
			return dst, malformed(-40002, "XML: bad entity", nil)
		}
		dst = utf8.AppendRune(dst, r)
		i = next
	}
	return dst, nil
}

// checkEntities validates every reference in s without decoding, so text
// the event ignores is held to the same rules as text it keeps.
func checkEntities[T text](s T) bool {
	for i := 0; ; {
		j := indexByteFrom(s, i, '&')
		if j < 0 {
			return true
		}
		_, next, ok := entity(s, j)
		if !ok {
			return false
		}
		i = next
	}
}

// entity decodes the reference at s[i] == '&' and returns the index after
// its ';'. The ';' is looked for in a bounded window so runs of '&' stay
// linear.
func entity[T text](s T, i int) (r rune, next int, ok bool) {
	semi := indexByteFrom(s[:min(len(s), i+12)], i+1, ';')
	if semi < 0 {
		return 0, 0, false
	}
	ent := s[i+1 : semi]
	switch {
	case eq(ent, "lt"):
		r = '<'
	case eq(ent, "gt"):
		r = '>'
	case eq(ent, "amp"):
		r = '&'
	case eq(ent, "apos"):
		r = '\''
	case eq(ent, "quot"):
		r = '"'
	case len(ent) > 1 && ent[0] == '#':
		if r, ok = charRef(ent[1:]); !ok {
			return 0, 0, false
		}
	default:
		return 0, 0, false
	}
	return r, semi + 1, true
}

// charRef parses the digits of &#NN; or &#xHH; and checks the result is a
// character XML allows.
func charRef[T text](d T) (rune, bool) {
	base := 10
	if len(d) > 0 && d[0] == 'x' {
		base, d = 16, d[1:]
	}
	if len(d) == 0 || len(d) > 8 {
		return 0, false
	}
	var r rune
	for i := 0; i < len(d); i++ {
		c := d[i]
		var v rune
		switch {
		case c >= '0' && c <= '9':
			v = rune(c - '0')
		case base == 16 && c >= 'a' && c <= 'f':
			v = rune(c-'a') + 10
		case base == 16 && c >= 'A' && c <= 'F':
			v = rune(c-'A') + 10
		default:
			return 0, false
		}
		r = r*rune(base) + v
		if r > utf8.MaxRune {
			return 0, false
		}
	}
	return r, isXMLChar(r)
}

func isXMLChar(r rune) bool {
	return r == '\t' || r == '\n' || r == '\r' ||
		r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= utf8.MaxRune
}

// checkChars rejects what no XML or JSON document may contain: invalid
// UTF-8 and C0 control characters other than tab, newline and return. It
// also keeps Raw safe to store as a string in any backend.
func checkChars(b []byte) error {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	i := 0
	// Eight bytes at a time: skip words with no byte < 0x20 and no high bit.
	for ; i+8 <= len(b); i += 8 {
		w := binary.LittleEndian.Uint64(b[i:])
		if (w-lo*0x20)&^w&hi == 0 && w&hi == 0 {
			continue
		}
		for _, c := range b[i : i+8] {
			if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
				return malformed(-40002, "control character in message", nil)
			}
		}
	}
	for _, c := range b[i:] {
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
			return malformed(-40002, "control character in message", nil)
		}
	}
	if !utf8.Valid(b) {
		return malformed(-40002, "message is not UTF-8", nil)
	}
	return nil
}

func skipBOM[T text](s T) int {
	if len(s) >= 3 && s[0] == 0xEF && s[1] == 0xBB && s[2] == 0xBF {
		return 3
	}
	return 0
}

func skipSpace[T text](s T, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}

// nameEnd returns the end of the XML name starting at i (i if none).
// Non-ASCII bytes are accepted as name characters.
func nameEnd[T text](s T, i int) int {
	start := i
	for i < len(s) {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_', c == ':', c >= 0x80:
		case i > start && (c >= '0' && c <= '9' || c == '-' || c == '.'):
		default:
			return i
		}
		i++
	}
	return i
}

func indexByteFrom[T text](s T, i int, c byte) int {
	if i >= len(s) {
		return -1
	}
	// The stdlib searches are vectorised; the type switch does not allocate.
	var j int
	switch v := any(s[i:]).(type) {
	case string:
		j = strings.IndexByte(v, c)
	case []byte:
		j = bytes.IndexByte(v, c)
	default:
		for j = 0; i+j < len(s) && s[i+j] != c; j++ {
		}
		if i+j == len(s) {
			j = -1
		}
	}
	if j < 0 {
		return -1
	}
	return i + j
}

// indexFrom finds sub (a short, fixed delimiter) in s at or after i. Each
// byte is examined a bounded number of times, so the search is linear.
func indexFrom[T text](s T, i int, sub string) int {
	for {
		i = indexByteFrom(s, i, sub[0])
		if i < 0 || len(s)-i < len(sub) {
			return -1
		}
		if hasPrefix(s[i:], sub) {
			return i
		}
		i++
	}
}

func hasPrefix[T text](s T, prefix string) bool {
	return len(s) >= len(prefix) && eq(s[:len(prefix)], prefix)
}

func eq[A, B text](a A, b B) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
