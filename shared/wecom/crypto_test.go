package wecom

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// Official vector set A (reference §1.6): token, key and corp id.
const (
	vecToken = "QDG6eK"
	vecKey   = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
	vecCorp  = "wx5823bf96d3bd56c7"

	vecGetSig   = "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3"
	vecGetTS    = "1409659589"
	vecGetNonce = "263014780"
	vecGetEcho  = "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="

	vecPostSig   = "477715d11cdb4164915debcba66cb864d751f3e6"
	vecPostTS    = "1409659813"
	vecPostNonce = "1372623149"
	vecPostEnc   = "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q=="
	vecPostBody  = `<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName><Encrypt><![CDATA[` + vecPostEnc + `]]></Encrypt><AgentID><![CDATA[218]]></AgentID></xml>`
	vecPostMsg   = "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>\n" +
		"<FromUserName><![CDATA[mycreate]]></FromUserName>\n" +
		"<CreateTime>1409659813</CreateTime>\n" +
		"<MsgType><![CDATA[text]]></MsgType>\n" +
		"<Content><![CDATA[hello]]></Content>\n" +
		"<MsgId>4561255354251345929</MsgId>\n" +
		"<AgentID>218</AgentID>\n" +
		"</xml>"

	// Vector C: the JSON callback format, same token/key/corp.
	vecJSONSig  = "0623cbc5a8cbee5bcc137c70de99575366fc2af3"
	vecJSONBody = `{"tousername":"wx5823bf96d3bd56c7","encrypt":"CZWs4CWRpI4VolQlvn4dlEC1alN2MUEY2VklGehgBVLBrlVF7SyT+SV+Toj43l4ayJ9UMGKphktKKmP7B2j/P1ey67XB8PBgS7Wr5/8+w/yWriZv3Vmoo/MH3/1HsIWZrPQ3N2mJrelStIfI2Y8kLKXA7EhfZgZX4o+ffdkZDM76SEl79Ib9mw7TGjZ9Aw/x/A2VjNbV1E8BtEbRxYYcQippYNw7hr8sFfa3nW1xLdxokt8QkRX83vK3DFP2F6TQFPL2Tu98UwhcUpPvdJBuu1/yiOQIScppV3eOuLWEsko=","agentid":"218"}`
	vecJSONMsg  = `{"ToUserName":"wx5823bf96d3bd56c7","FromUserName":"mycreate","CreateTime": 1409659813,"MsgType":"text","Content":"hello","MsgId":4561255354251345929,"AgentID": 218}`
)

func newVectorCrypter(t testing.TB, corp string) *Crypter {
	t.Helper()
	c, err := NewCrypter(vecToken, vecKey, corp)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestOfficialVectorsDecryptToTheDocumentedPlaintext(t *testing.T) {
	c := newVectorCrypter(t, vecCorp)
	t.Run("GET verification echoes 1616140317555161061", func(t *testing.T) {
		got, err := c.VerifyURL(vecGetSig, vecGetTS, vecGetNonce, vecGetEcho)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != "1616140317555161061" {
			t.Fatalf("echo = %q", got)
		}
	})
	t.Run("POST XML envelope opens to the exact text message", func(t *testing.T) {
		got, err := c.Open(vecPostSig, vecPostTS, vecPostNonce, []byte(vecPostBody))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != vecPostMsg {
			t.Fatalf("msg = %q\nwant %q", got, vecPostMsg)
		}
	})
	t.Run("POST JSON envelope opens to the JSON message", func(t *testing.T) {
		got, err := c.Open(vecJSONSig, vecPostTS, vecPostNonce, []byte(vecJSONBody))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != vecJSONMsg {
			t.Fatalf("msg = %q\nwant %q", got, vecJSONMsg)
		}
	})
	t.Run("the same Encrypt in a JSON envelope keeps its signature", func(t *testing.T) {
		body := `{"tousername":"` + vecCorp + `","encrypt":"` + vecPostEnc + `","agentid":218}`
		got, err := c.Open(vecPostSig, vecPostTS, vecPostNonce, []byte(body))
		if err != nil || string(got) != vecPostMsg {
			t.Fatalf("msg = %q, err = %v", got, err)
		}
	})
	t.Run("Signature reproduces the documented values", func(t *testing.T) {
		if s := c.Signature(vecPostTS, vecPostNonce, vecPostEnc); s != vecPostSig {
			t.Fatalf("POST signature = %s", s)
		}
		if s := c.Signature(vecGetTS, vecGetNonce, vecGetEcho); s != vecGetSig {
			t.Fatalf("GET signature = %s", s)
		}
	})
	t.Run("Decrypt returns msg and the corp id without a signature", func(t *testing.T) {
		msg, rid, err := c.Decrypt(vecPostEnc)
		if err != nil || string(msg) != vecPostMsg || rid != vecCorp {
			t.Fatalf("Decrypt = %q, %q, %v", msg, rid, err)
		}
	})
}

func TestSealedCallbacksRoundTrip(t *testing.T) {
	msgs := map[string][]byte{
		"empty":           {},
		"one byte":        []byte("x"),
		"exactly 12":      []byte("0123456789ab"), // 20+12 = 32: a full pad block
		"event XML":       []byte(vecPostMsg),
		"chinese":         []byte("<xml><State><![CDATA[渠道A]]></State></xml>"),
		"4 KiB of binary": bytes.Repeat([]byte{0, 1, 2, 0xff}, 1024),
	}
	for _, corp := range []string{vecCorp, "", "ww]]>odd"} {
		c := newVectorCrypter(t, corp)
		for name, msg := range msgs {
			t.Run(fmt.Sprintf("%s for receiveid %q survives Seal then Open", name, corp), func(t *testing.T) {
				body, sig, err := c.Seal(msg, "1700000000", "nonce")
				if err != nil {
					t.Fatal(err)
				}
				got, err := c.Open(sig, "1700000000", "nonce", body)
				if err != nil {
					t.Fatalf("Open: %v\nbody %s", err, body)
				}
				if !bytes.Equal(got, msg) {
					t.Fatalf("got %q, want %q", got, msg)
				}
			})
			t.Run(fmt.Sprintf("%s for receiveid %q survives Encrypt then Decrypt", name, corp), func(t *testing.T) {
				enc, err := c.Encrypt(msg)
				if err != nil {
					t.Fatal(err)
				}
				got, rid, err := c.Decrypt(enc)
				if err != nil || !bytes.Equal(got, msg) || rid != corp {
					t.Fatalf("got %q %q %v", got, rid, err)
				}
			})
		}
		t.Run(fmt.Sprintf("SealEcho for receiveid %q verifies with VerifyURL", corp), func(t *testing.T) {
			echostr, sig, err := c.SealEcho([]byte("8374651"), "1700000000", "n1")
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.VerifyURL(sig, "1700000000", "n1", echostr)
			if err != nil || string(got) != "8374651" {
				t.Fatalf("got %q, %v", got, err)
			}
		})
	}
	t.Run("two encryptions of one msg differ (random prefix)", func(t *testing.T) {
		c := newVectorCrypter(t, vecCorp)
		a, _ := c.Encrypt([]byte("same"))
		b, _ := c.Encrypt([]byte("same"))
		if a == b {
			t.Fatal("identical ciphertexts")
		}
	})
}

// encryptRaw encrypts an arbitrary plaintext (already a multiple of 16)
// with the vector key, to build ciphertexts with broken layouts.
func encryptRaw(t testing.TB, pt []byte) string {
	t.Helper()
	key, _ := base64.StdEncoding.DecodeString(vecKey + "=")
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]byte, len(pt))
	cipher.NewCBCEncrypter(block, key[:16]).CryptBlocks(out, pt)
	return base64.StdEncoding.EncodeToString(out)
}

// plaintext builds random||len||msg||rid followed by the given pad bytes.
func plaintext(msgLen uint32, msg, rid string, pad []byte) []byte {
	b := make([]byte, 16, 64)
	b = binary.BigEndian.AppendUint32(b, msgLen)
	b = append(b, msg...)
	b = append(b, rid...)
	return append(b, pad...)
}

func padOf(n, total int) []byte { return bytes.Repeat([]byte{byte(n)}, total) }

func TestBadCallbacksAreRejectedWithTheirCode(t *testing.T) {
	c := newVectorCrypter(t, vecCorp)
	// 16+4+5+18 = 43 bytes; 21 more pad to 64.
	good := plaintext(5, "hello", vecCorp, padOf(21, 21))
	if len(good) != 64 {
		t.Fatalf("fixture length %d", len(good))
	}
	inconsistent := plaintext(5, "hello", vecCorp, padOf(21, 21))
	inconsistent[50] = 20
	signed := func(enc string) (string, []byte) {
		body := []byte("<xml><ToUserName><![CDATA[" + vecCorp + "]]></ToUserName><Encrypt><![CDATA[" + enc + "]]></Encrypt></xml>")
		return c.Signature("1", "2", enc), body
	}
	type input struct {
		sig  string
		body []byte
	}
	sealedFor := func(corp string) input {
		other := newVectorCrypter(t, corp)
		body, sig, err := other.Seal([]byte("<xml/>"), "1", "2")
		if err != nil {
			t.Fatal(err)
		}
		return input{sig, body}
	}
	raw := func(pt []byte) input {
		s, b := signed(encryptRaw(t, pt))
		return input{s, b}
	}
	encOnly := func(enc string) input {
		s, b := signed(enc)
		return input{s, b}
	}
	valid := raw(good)
	tests := []struct {
		name string
		in   input
		code int
		kind ErrorKind
	}{
		{"a valid hand-built ciphertext opens", valid, 0, 0},
		{"a wrong signature is refused", input{strings.Repeat("0", 40), valid.body}, -40001, ErrKindSignature},
		{"an uppercase signature is refused", input{strings.ToUpper(vecPostSig), []byte(vecPostBody)}, -40001, ErrKindSignature},
		{"a truncated signature is refused", input{vecPostSig[:39], []byte(vecPostBody)}, -40001, ErrKindSignature},
		{"an empty signature is refused", input{"", valid.body}, -40001, ErrKindSignature},
		{"a ciphertext for another corp is refused", sealedFor("ww0000000000000000"), -40005, ErrKindReceiveID},
		{"a ciphertext with an empty receiveid is refused", sealedFor(""), -40005, ErrKindReceiveID},
		{"bad base64 is refused", encOnly("not*base64!"), -40010, ErrKindMalformed},
		{"base64 without padding is refused", encOnly(strings.TrimRight(vecPostEnc, "=")), -40010, ErrKindMalformed},
		{"base64 with non-zero trailing bits is refused", encOnly("QUJDRB=="), -40010, ErrKindMalformed},
		{"a ciphertext not a multiple of 16 is refused", encOnly(base64.StdEncoding.EncodeToString(make([]byte, 40))), -40007, ErrKindMalformed},
		{"pad 0 is refused", raw(plaintext(5, "hello", vecCorp, append(padOf(21, 20), 0))), -40007, ErrKindMalformed},
		{"pad 33 is refused", raw(plaintext(5, "hello", vecCorp, append(padOf(33, 20), 33))), -40007, ErrKindMalformed},
		{"pad longer than the plaintext is refused", raw(padOf(32, 16)), -40007, ErrKindMalformed},
		{"inconsistent pad bytes are refused", raw(inconsistent), -40007, ErrKindMalformed},
		{"a plaintext shorter than its 20-byte header is refused", raw(append(make([]byte, 16), padOf(16, 16)...)), -40008, ErrKindMalformed},
		{"a msg_len past the end is refused", raw(plaintext(100, "hello", vecCorp, padOf(21, 21))), -40008, ErrKindMalformed},
		{"a msg_len of 4 GiB is refused", raw(plaintext(0xffffffff, "hello", vecCorp, padOf(21, 21))), -40008, ErrKindMalformed},
		{"an empty body is refused", input{vecPostSig, nil}, -40002, ErrKindMalformed},
		{"an unclosed envelope is refused", input{vecPostSig, []byte(vecPostBody[:len(vecPostBody)-6])}, -40002, ErrKindMalformed},
		{"an envelope without Encrypt is refused", input{vecPostSig, []byte("<xml><ToUserName>x</ToUserName></xml>")}, -40002, ErrKindMalformed},
		{"an empty Encrypt is refused", input{vecPostSig, []byte("<xml><Encrypt><![CDATA[]]></Encrypt></xml>")}, -40002, ErrKindMalformed},
		{"an empty JSON encrypt is refused", input{vecPostSig, []byte(`{"encrypt":""}`)}, -40002, ErrKindMalformed},
		{"a JSON envelope with a numeric encrypt is refused", input{vecPostSig, []byte(`{"encrypt":12}`)}, -40002, ErrKindMalformed},
		{"a truncated JSON envelope is refused", input{vecJSONSig, []byte(vecJSONBody[:50])}, -40002, ErrKindMalformed},
		{"a DOCTYPE envelope is refused", input{vecPostSig, []byte(`<!DOCTYPE x [<!ENTITY a "b">]><xml><Encrypt>&a;</Encrypt></xml>`)}, -40002, ErrKindMalformed},
		{"plain text is refused", input{vecPostSig, []byte("Encrypt=abc")}, -40002, ErrKindMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg, err := c.Open(tt.in.sig, "1", "2", tt.in.body)
			if tt.code == 0 {
				if err != nil || string(msg) != "hello" {
					t.Fatalf("Open = %q, %v", msg, err)
				}
				return
			}
			var ce *CryptoError
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v (%T), want *CryptoError", err, err)
			}
			if ce.Code != tt.code || ce.Kind != tt.kind {
				t.Fatalf("err = %v (kind %v), want code %d kind %v", err, ce.Kind, tt.code, tt.kind)
			}
			if msg != nil {
				t.Fatalf("msg = %q on error", msg)
			}
		})
	}
}

func TestEnvelopeVariantsAreRead(t *testing.T) {
	c := newVectorCrypter(t, vecCorp)
	bodies := map[string]string{
		"pretty-printed with a prolog": "<?xml version=\"1.0\"?>\n<xml>\n  <ToUserName><![CDATA[x]]></ToUserName>\n  <Encrypt><![CDATA[" + vecPostEnc + "]]></Encrypt>\n  <AgentID>218</AgentID>\n</xml>\n",
		"Encrypt as plain text":        "<xml><Encrypt>" + vecPostEnc + "</Encrypt></xml>",
		"Encrypt split over CDATA":     "<xml><Encrypt><![CDATA[" + vecPostEnc[:10] + "]]>" + vecPostEnc[10:] + "</Encrypt></xml>",
		"a comment and attributes":     "<xml a='1'><!-- hi --><Encrypt x=\"y\"><![CDATA[" + vecPostEnc + "]]></Encrypt><AgentID/></xml>",
		"JSON with whitespace":         "\n {\"encrypt\": \"" + vecPostEnc + "\" }",
		"an escaped slash in JSON":     `{"encrypt":"` + strings.ReplaceAll(vecPostEnc, "/", `\/`) + `"}`,
	}
	for name, body := range bodies {
		t.Run(name, func(t *testing.T) {
			got, err := c.Open(vecPostSig, vecPostTS, vecPostNonce, []byte(body))
			if err != nil || string(got) != vecPostMsg {
				t.Fatalf("Open = %q, %v", got, err)
			}
		})
	}
}

func TestNewCrypterRejectsUnusableSettings(t *testing.T) {
	tests := []struct {
		name, token, key string
		code             int
	}{
		{"a 42-character key", vecToken, vecKey[:42], -40004},
		{"a 44-character key", vecToken, vecKey + "A", -40004},
		{"a key with '+'", vecToken, "+" + vecKey[1:], -40004},
		{"a key with '='", vecToken, vecKey[:42] + "=", -40004},
		{"an empty token", "", vecKey, -40003},
	}
	for _, tt := range tests {
		t.Run("refuses "+tt.name, func(t *testing.T) {
			_, err := NewCrypter(tt.token, tt.key, vecCorp)
			var ce *CryptoError
			if !errors.As(err, &ce) || ce.Code != tt.code || ce.Kind != ErrKindConfig {
				t.Fatalf("err = %v", err)
			}
		})
	}
	t.Run("never prints the token or key", func(t *testing.T) {
		c := newVectorCrypter(t, vecCorp)
		for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c)} {
			if strings.Contains(s, vecToken) || !strings.Contains(s, vecCorp) {
				t.Fatalf("printed %s", s)
			}
		}
		if c.ReceiveID() != vecCorp {
			t.Fatalf("ReceiveID = %s", c.ReceiveID())
		}
	})
}
