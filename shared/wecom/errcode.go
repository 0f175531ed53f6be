package wecom

import (
	"bytes"
	"strconv"
)

// scanErrCode reads an answer's top-level errcode without decoding the
// rest, so a successful answer is decoded once (into its result) instead
// of twice: a page of 100 relationships or 3,000 customers is mostly
// strings, which this skips with a byte search.
//
// ok is false whenever the answer is not what a plain decode would read
// the same way — not an object, an escaped key, an errcode that is not a
// plain integer, an errmsg that is not a string — and the caller then
// decodes the envelope with encoding/json. Malformed JSON may pass (its
// nesting is only counted): the caller's decode of the result, which must
// follow an ok, validates the whole answer. As encoding/json does, the last errcode wins and
// keys match without regard to case; a missing errcode is 0.
func scanErrCode(raw []byte) (code int, ok bool) {
	i := skipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		return 0, false
	}
	i = skipSpace(raw, i+1)
	if i < len(raw) && raw[i] == '}' {
		return 0, skipSpace(raw, i+1) == len(raw)
	}
	for {
		if i >= len(raw) || raw[i] != '"' {
			return 0, false
		}
		end := stringEnd(raw, i)
		if end < 0 {
			return 0, false
		}
		key := raw[i+1 : end-1]
		if bytes.IndexByte(key, '\\') >= 0 {
			return 0, false
		}
		i = skipSpace(raw, end)
		if i >= len(raw) || raw[i] != ':' {
			return 0, false
		}
		i = skipSpace(raw, i+1)
		start := i
		if i = skipValue(raw, i); i < 0 {
			return 0, false
		}
		if bytes.EqualFold(key, []byte("errmsg")) && raw[start] != '"' && !bytes.Equal(raw[start:i], []byte("null")) {
			return 0, false // encoding/json would refuse the envelope
		}
		if bytes.EqualFold(key, []byte("errcode")) {
			v := raw[start:i]
			if bytes.Equal(v, []byte("null")) {
				// encoding/json leaves the field as it was: an earlier
				// errcode stands.
			} else if n, err := strconv.Atoi(string(v)); err == nil {
				code = n
			} else {
				return 0, false
			}
		}
		i = skipSpace(raw, i)
		if i >= len(raw) {
			return 0, false
		}
		switch raw[i] {
		case ',':
			i = skipSpace(raw, i+1)
		case '}':
			return code, skipSpace(raw, i+1) == len(raw)
		default:
			return 0, false
		}
	}
}

// stringEnd returns the index just past the string starting at b[i] ('"'),
// or -1. It checks escapes' shape loosely; the caller's full decode of the
// answer is what validates it.
func stringEnd(b []byte, i int) int {
	i++
	for {
		j := bytes.IndexAny(b[i:], "\"\\")
		if j < 0 {
			return -1
		}
		i += j
		if b[i] == '"' {
			return i + 1
		}
		i += 2 // an escape: skip the escaped byte (\uXXXX's digits are plain bytes)
		if i > len(b) {
			return -1
		}
	}
}

// skipValue returns the index just past the value starting at b[i], or -1.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch c := b[i]; {
	case c == '"':
		return stringEnd(b, i)
	case c == '{' || c == '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				if i = stringEnd(b, i); i < 0 {
					return -1
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return -1
	default:
		// A number or a literal: up to the next delimiter.
		j := i
		for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\t' && b[j] != '\n' && b[j] != '\r' {
			j++
		}
		if j == i {
			return -1
		}
		return j
	}
}
