package wecom

import (
	"bytes"
	"strconv"
	"unicode/utf8"
)

// pairEntry is what pairsPage keeps of one relationship.
type pairEntry struct {
	ExternalContact struct {
		ExternalUserID string `json:"external_userid"`
	} `json:"external_contact"`
	FollowInfo struct {
		UserID     string `json:"userid"`
		CreateTime int64  `json:"createtime"`
		State      string `json:"state"`
	} `json:"follow_info"`
}

// fastDecoder is a result the client can read from a successful answer in
// one pass of its own; decodeFast reports false (and leaves the result
// zero) for anything it does not read exactly as encoding/json would, and
// the client then decodes as usual.
type fastDecoder interface {
	decodeFast(raw []byte) bool
}

var _ fastDecoder = (*pairsPage)(nil)

// decodeFast reads a successful batch/get_by_user answer: the nightly sync
// lists every relationship of the brand, a hundred a page, and
// encoding/json's validation pass and reflection over the names, avatars
// and remarks it skips cost more than the sync's own work. The walk checks
// the whole answer's grammar (strings, escapes, numbers, nesting) as it
// goes, so it never accepts what encoding/json refuses. It gives up — and
// the caller decodes with encoding/json — on an errcode other than a plain
// 0, an errmsg that is not a string, a key it keeps that is escaped, not
// ASCII, repeated, or spelled in another case, a kept string with an
// escape or invalid UTF-8, a createtime that is not a plain integer, a
// null where it keeps a value, and nesting deeper than fastMaxDepth.
func (p *pairsPage) decodeFast(raw []byte) bool {
	d := fastJSON{b: raw}
	var seen uint8
	ok := d.object(func(key []byte, plain bool) bool {
		if !plain {
			return false
		}
		switch string(key) {
		case "errcode":
			n, ok := d.number()
			return once(&seen, 1) && ok && string(n) == "0"
		case "errmsg":
			if d.peek() == 'n' {
				return d.literal("null")
			}
			_, _, ok := d.str()
			return ok
		case "external_contact_list":
			return once(&seen, 2) && d.array(func() bool {
				p.Contacts = append(p.Contacts, pairEntry{})
				return d.pairEntry(&p.Contacts[len(p.Contacts)-1])
			})
		case "next_cursor":
			return once(&seen, 4) && d.keptString(&p.NextCursor)
		}
		return !foldsTo(key, "errcode", "errmsg", "external_contact_list", "next_cursor") && d.skip(1)
	})
	d.ws()
	if !ok || d.i != len(raw) {
		*p = pairsPage{}
		return false
	}
	return true
}

func (d *fastJSON) pairEntry(e *pairEntry) bool {
	var seen uint8
	return d.object(func(key []byte, plain bool) bool {
		if !plain {
			return false
		}
		switch string(key) {
		case "external_contact":
			var inner uint8
			return once(&seen, 1) && d.object(func(key []byte, plain bool) bool {
				switch {
				case !plain:
					return false
				case string(key) == "external_userid":
					return once(&inner, 1) && d.keptString(&e.ExternalContact.ExternalUserID)
				}
				return !foldsTo(key, "external_userid") && d.skip(2)
			})
		case "follow_info":
			var inner uint8
			return once(&seen, 2) && d.object(func(key []byte, plain bool) bool {
				if !plain {
					return false
				}
				switch string(key) {
				case "userid":
					return once(&inner, 1) && d.keptString(&e.FollowInfo.UserID)
				case "createtime":
					n, ok := d.number()
					if !ok || !once(&inner, 2) {
						return false
					}
					v, err := strconv.ParseInt(string(n), 10, 64)
					e.FollowInfo.CreateTime = v
					return err == nil
				case "state":
					return once(&inner, 4) && d.keptString(&e.FollowInfo.State)
				}
				return !foldsTo(key, "userid", "createtime", "state") && d.skip(2)
			})
		}
		return !foldsTo(key, "external_contact", "follow_info") && d.skip(1)
	})
}

// once marks bit in seen and reports whether it was clear: a kept key seen
// twice gives up (encoding/json's merging of repeats is left to it).
func once(seen *uint8, bit uint8) bool {
	if *seen&bit != 0 {
		return false
	}
	*seen |= bit
	return true
}

// foldsTo reports whether key matches one of names without regard to ASCII
// case (encoding/json would fill that field from it).
func foldsTo(key []byte, names ...string) bool {
	for _, n := range names {
		if bytes.EqualFold(key, []byte(n)) {
			return true
		}
	}
	return false
}

// fastMaxDepth bounds the nesting the walk follows; deeper answers are
// left to encoding/json.
const fastMaxDepth = 64

// fastJSON walks JSON in place, checking its grammar.
type fastJSON struct {
	b []byte
	i int
}

func (d *fastJSON) peek() byte {
	if d.i < len(d.b) {
		return d.b[d.i]
	}
	return 0
}

func (d *fastJSON) ws() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// object walks an object: member is called at each member's value with the
// key's bytes (plain: no escape, all ASCII) and must consume the value.
func (d *fastJSON) object(member func(key []byte, plain bool) bool) bool {
	d.ws()
	if d.peek() != '{' {
		return false
	}
	d.i++
	d.ws()
	if d.peek() == '}' {
		d.i++
		return true
	}
	for {
		d.ws()
		key, escaped, ok := d.str()
		if !ok {
			return false
		}
		d.ws()
		if d.peek() != ':' {
			return false
		}
		d.i++
		d.ws()
		if !member(key, !escaped && isASCII(key)) {
			return false
		}
		d.ws()
		switch d.peek() {
		case ',':
			d.i++
		case '}':
			d.i++
			return true
		default:
			return false
		}
	}
}

// array walks an array: elem is called at each element and must consume it.
func (d *fastJSON) array(elem func() bool) bool {
	if d.peek() != '[' {
		return false
	}
	d.i++
	d.ws()
	if d.peek() == ']' {
		d.i++
		return true
	}
	for {
		d.ws()
		if !elem() {
			return false
		}
		d.ws()
		switch d.peek() {
		case ',':
			d.i++
		case ']':
			d.i++
			return true
		default:
			return false
		}
	}
}

// str reads a string: its raw contents and whether they hold an escape.
func (d *fastJSON) str() (s []byte, escaped, ok bool) {
	if d.peek() != '"' {
		return nil, false, false
	}
	start := d.i + 1
	for i := start; i < len(d.b); i++ {
		switch c := d.b[i]; {
		case c == '"':
			d.i = i + 1
			return d.b[start:i], escaped, true
		case c == '\\':
			escaped = true
			if i+1 >= len(d.b) {
				return nil, false, false
			}
			switch d.b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i++
			case 'u':
				if i+6 > len(d.b) || !isHex4(d.b[i+2:i+6]) {
					return nil, false, false
				}
				i += 5
			default:
				return nil, false, false
			}
		case c < 0x20:
			return nil, false, false
		}
	}
	return nil, false, false
}

// keptString reads a string into dst when encoding/json would read the
// same bytes: no escape, valid UTF-8.
func (d *fastJSON) keptString(dst *string) bool {
	s, escaped, ok := d.str()
	if !ok || escaped || !utf8.Valid(s) {
		return false
	}
	*dst = string(s)
	return true
}

// number reads a number as JSON writes it.
func (d *fastJSON) number() ([]byte, bool) {
	start := d.i
	if d.peek() == '-' {
		d.i++
	}
	switch c := d.peek(); {
	case c == '0':
		d.i++
	case c >= '1' && c <= '9':
		d.digits()
	default:
		return nil, false
	}
	if d.peek() == '.' {
		d.i++
		if !isDigit(d.peek()) {
			return nil, false
		}
		d.digits()
	}
	if c := d.peek(); c == 'e' || c == 'E' {
		d.i++
		if c := d.peek(); c == '+' || c == '-' {
			d.i++
		}
		if !isDigit(d.peek()) {
			return nil, false
		}
		d.digits()
	}
	return d.b[start:d.i], true
}

func (d *fastJSON) digits() {
	for isDigit(d.peek()) {
		d.i++
	}
}

func (d *fastJSON) literal(word string) bool {
	if !bytes.HasPrefix(d.b[d.i:], []byte(word)) {
		return false
	}
	d.i += len(word)
	return true
}

// skip walks any value.
func (d *fastJSON) skip(depth int) bool {
	if depth > fastMaxDepth {
		return false
	}
	switch c := d.peek(); {
	case c == '"':
		_, _, ok := d.str()
		return ok
	case c == '{':
		return d.object(func([]byte, bool) bool { return d.skip(depth + 1) })
	case c == '[':
		return d.array(func() bool { return d.skip(depth + 1) })
	case c == 't':
		return d.literal("true")
	case c == 'f':
		return d.literal("false")
	case c == 'n':
		return d.literal("null")
	default:
		_, ok := d.number()
		return ok
	}
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isHex4(b []byte) bool {
	for _, c := range b {
		if !isDigit(c) && (c < 'a' || c > 'f') && (c < 'A' || c > 'F') {
			return false
		}
	}
	return true
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
