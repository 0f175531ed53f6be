package wecom

import (
	"encoding/xml"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// checkEvent asserts what a successful ParseEvent promises its callers.
func checkEvent(t *testing.T, msg []byte, ev Event) {
	t.Helper()
	if ev.Event == "" && (ev.MsgType == "" || ev.MsgType == "event") {
		t.Fatalf("accepted a message without Event: %+v", ev)
	}
	if ev.Known {
		if ev.Raw != "" {
			t.Fatalf("known event with Raw: %+v", ev)
		}
		if !modelled(ev.Event, ev.ChangeType) {
			t.Fatalf("Known set for %s/%s", ev.Event, ev.ChangeType)
		}
	} else if ev.Raw != string(msg) {
		t.Fatalf("unknown event lost its raw message: %+v", ev)
	}
}

func checkCryptoError(t *testing.T, err error) {
	t.Helper()
	var ce *CryptoError
	if !errors.As(err, &ce) || ce.Kind == 0 || ce.Code == 0 {
		t.Fatalf("error is not a typed CryptoError: %v (%T)", err, err)
	}
}

// fuzzSeeds: the official vectors and every fixture.
func fuzzMessages(f *testing.F) [][]byte {
	msgs := [][]byte{[]byte(vecPostMsg), []byte(vecJSONMsg)}
	files, _ := filepath.Glob(filepath.Join("testdata", "events", "*.xml"))
	more, _ := filepath.Glob(filepath.Join("testdata", "events", "*.msg.json"))
	for _, name := range append(files, more...) {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		msgs = append(msgs, b)
	}
	return msgs
}

// FuzzOpen feeds arbitrary envelopes to Open and, on success, ParseEvent.
// With resign set the fuzzer's Encrypt value is signed correctly, so
// mutations reach base64, padding and length checks instead of stopping at
// the signature.
func FuzzOpen(f *testing.F) {
	c := newVectorCrypter(f, vecCorp)
	f.Add(vecPostSig, vecPostTS, vecPostNonce, []byte(vecPostBody), false)
	f.Add(vecJSONSig, vecPostTS, vecPostNonce, []byte(vecJSONBody), false)
	for _, msg := range fuzzMessages(f) {
		body, sig, err := c.Seal(msg, "1700000000", "42")
		if err != nil {
			f.Fatal(err)
		}
		f.Add(sig, "1700000000", "42", body, false)
		f.Add("", "1700000000", "42", body, true)
	}
	f.Fuzz(func(t *testing.T, sig, ts, nonce string, body []byte, resign bool) {
		if resign {
			enc, err := envelopeEncrypt(body)
			if err != nil {
				checkCryptoError(t, err)
				return
			}
			sig = c.Signature(ts, nonce, string(enc))
		}
		msg, err := c.Open(sig, ts, nonce, body)
		if err != nil {
			checkCryptoError(t, err)
			if msg != nil {
				t.Fatal("msg returned with an error")
			}
			return
		}
		ev, err := ParseEvent(msg)
		if err != nil {
			checkCryptoError(t, err)
			return
		}
		checkEvent(t, msg, ev)
	})
}

// FuzzParseEvent: no panic, typed errors, the Known/Raw contract, and for
// XML agreement with encoding/xml that the document is well-formed.
func FuzzParseEvent(f *testing.F) {
	for _, msg := range fuzzMessages(f) {
		f.Add(msg)
	}
	f.Add([]byte("<xml><Event>change_external_chat</Event><ChangeType>update</ChangeType><MemChangeList><Item>a</Item></MemChangeList></xml>"))
	f.Add([]byte("<?xml version='1.0'?><xml a=\"1\"><!-- c --><Event>a&amp;&#x41;<![CDATA[b]]></Event><X/></xml>"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		ev, err := ParseEvent(msg)
		if err != nil {
			checkCryptoError(t, err)
			return
		}
		checkEvent(t, msg, ev)
		if i := skipSpace(msg, skipBOM(msg)); i < len(msg) && msg[i] == '<' {
			// Whatever the flat reader accepts, encoding/xml must find
			// well-formed too (the converse need not hold: the flat reader
			// is stricter, e.g. about DOCTYPE and nesting depth).
			if _, err := stdlibEvent(msg); err != nil {
				var se *xml.SyntaxError
				if errors.As(err, &se) {
					t.Fatalf("flat reader accepted what encoding/xml rejects: %v", err)
				}
			}
		}
	})
}

// FuzzDecrypt encrypts arbitrary plaintext blocks, so every padding and
// length layout is reached, and checks Decrypt's bounds.
func FuzzDecrypt(f *testing.F) {
	c := newVectorCrypter(f, vecCorp)
	f.Add(plaintext(5, "hello", vecCorp, padOf(21, 21)))
	f.Add(plaintext(0xffffffff, "", "", padOf(12, 12)))
	f.Add(padOf(32, 32))
	f.Fuzz(func(t *testing.T, pt []byte) {
		if len(pt)%16 != 0 {
			pt = append(pt, make([]byte, 16-len(pt)%16)...)
		}
		if len(pt) == 0 {
			return
		}
		msg, rid, err := c.Decrypt(encryptRaw(t, pt))
		if err != nil {
			checkCryptoError(t, err)
			return
		}
		pad := int(pt[len(pt)-1])
		if pad < 1 || pad > 32 || 20+len(msg)+len(rid)+pad != len(pt) {
			t.Fatalf("accepted pad %d, msg %d, rid %d of %d bytes", pad, len(msg), len(rid), len(pt))
		}
	})
}
