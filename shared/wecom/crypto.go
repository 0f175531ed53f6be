package wecom

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"strconv"
	"strings"
)

// ErrorKind groups crypto failures by what a callback handler answers.
type ErrorKind int

const (
	// ErrKindMalformed: the request cannot be read (envelope, base64,
	// padding, lengths, event XML/JSON). Answer 400.
	ErrKindMalformed ErrorKind = iota + 1
	// ErrKindSignature: msg_signature does not match. Answer 401/403.
	ErrKindSignature
	// ErrKindReceiveID: authentic ciphertext for another corp or suite.
	ErrKindReceiveID
	// ErrKindConfig: the token or EncodingAESKey given to NewCrypter is unusable.
	ErrKindConfig
)

func (k ErrorKind) String() string {
	switch k {
	case ErrKindMalformed:
		return "malformed"
	case ErrKindSignature:
		return "signature"
	case ErrKindReceiveID:
		return "receiveid"
	case ErrKindConfig:
		return "config"
	}
	return "ErrorKind(" + strconv.Itoa(int(k)) + ")"
}

// CryptoError is every error this package returns for callback crypto and
// event parsing. Code is the official library's code (-40001 signature,
// -40002 parse, -40003 compute signature, -40004 illegal AES key, -40005
// receiveid mismatch, -40007 decrypt/padding, -40008 illegal buffer, -40010
// base64). Msg never contains key material.
type CryptoError struct {
	Code int
	Kind ErrorKind
	Msg  string
	err  error
}

func (e *CryptoError) Error() string {
	s := "wecom crypto " + strconv.Itoa(e.Code) + ": " + e.Msg
	if e.err != nil {
		s += ": " + e.err.Error()
	}
	return s
}

// Unwrap returns the underlying decoder error, if any.
func (e *CryptoError) Unwrap() error { return e.err }

func malformed(code int, msg string, err error) *CryptoError {
	return &CryptoError{Code: code, Kind: ErrKindMalformed, Msg: msg, err: err}
}

// Fresh values each time, so a caller annotating one cannot affect another.
func errSignature() error {
	return &CryptoError{Code: -40001, Kind: ErrKindSignature, Msg: "msg_signature mismatch"}
}

func errReceiveID() error {
	return &CryptoError{Code: -40005, Kind: ErrKindReceiveID, Msg: "receiveid mismatch"}
}

// b64 is strict: non-zero trailing bits or missing padding are rejected.
var b64 = base64.StdEncoding.Strict()

// Crypter signs, verifies, encrypts and decrypts WeCom callbacks for one app.
// It is safe for concurrent use.
type Crypter struct {
	token     string
	key       [32]byte
	block     cipher.Block
	receiveID string
}

// NewCrypter builds a Crypter from the callback settings of the admin
// console. encodingAESKey must be 43 characters from [A-Za-z0-9]; receiveID
// is the corp id (self-built apps), the suite id (third-party instruction
// callbacks) or empty (personal third-party apps).
func NewCrypter(token, encodingAESKey, receiveID string) (*Crypter, error) {
	if token == "" {
		return nil, &CryptoError{Code: -40003, Kind: ErrKindConfig, Msg: "empty callback token"}
	}
	if len(encodingAESKey) != 43 || strings.IndexFunc(encodingAESKey, notAlnum) >= 0 {
		return nil, &CryptoError{Code: -40004, Kind: ErrKindConfig, Msg: "EncodingAESKey must be 43 characters [A-Za-z0-9]"}
	}
	c := &Crypter{token: token, receiveID: receiveID}
	// Keys from the console may carry non-zero trailing bits: not strict.
	if n, err := base64.StdEncoding.Decode(c.key[:], []byte(encodingAESKey+"=")); err != nil || n != 32 {
		return nil, &CryptoError{Code: -40004, Kind: ErrKindConfig, Msg: "EncodingAESKey does not decode to 32 bytes"}
	}
	block, err := aes.NewCipher(c.key[:])
	if err != nil {
		return nil, &CryptoError{Code: -40004, Kind: ErrKindConfig, Msg: "AES key", err: err}
	}
	c.block = block
	return c, nil
}

func notAlnum(r rune) bool {
	return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
}

// ReceiveID returns the corp or suite id the Crypter expects in plaintexts.
func (c *Crypter) ReceiveID() string { return c.receiveID }

// String hides the token and key so a Crypter can be logged.
func (c *Crypter) String() string {
	return "wecom.Crypter{receiveID: " + strconv.Quote(c.receiveID) + "}"
}

// GoString hides the token and key from %#v.
func (c *Crypter) GoString() string { return c.String() }

// Signature returns msg_signature: the lowercase hex SHA-1 of token,
// timestamp, nonce and encrypt sorted bytewise and concatenated.
func (c *Crypter) Signature(timestamp, nonce, encrypt string) string {
	sum := signature(c.token, timestamp, nonce, encrypt)
	return string(sum[:])
}

// signature computes the hex signature without heap allocation for inputs
// up to half the stack buffer: the four parts are appended once, sorted as
// sub-slices, then appended again in order and hashed.
func signature[T text](token, timestamp, nonce string, encrypt T) [40]byte {
	var stack [4096]byte
	n := len(token) + len(timestamp) + len(nonce) + len(encrypt)
	buf := stack[:0]
	if 2*n > len(stack) {
		buf = make([]byte, 0, 2*n)
	}
	buf = append(buf, token...)
	buf = append(buf, timestamp...)
	buf = append(buf, nonce...)
	buf = append(buf, encrypt...)
	a, b, cc := len(token), len(token)+len(timestamp), len(token)+len(timestamp)+len(nonce)
	parts := [4][]byte{buf[:a], buf[a:b], buf[b:cc], buf[cc:n]}
	// Insertion sort of four.
	for i := 1; i < 4; i++ {
		for j := i; j > 0 && bytes.Compare(parts[j], parts[j-1]) < 0; j-- {
			parts[j], parts[j-1] = parts[j-1], parts[j]
		}
	}
	for _, p := range parts {
		buf = append(buf, p...)
	}
	sum := sha1.Sum(buf[n:])
	const hexdigits = "0123456789abcdef"
	var out [40]byte
	for i, v := range sum {
		out[2*i] = hexdigits[v>>4]
		out[2*i+1] = hexdigits[v&0x0f]
	}
	return out
}

// verify compares in constant time (for a given length) so the response
// time does not reveal how much of a forged signature was right.
func (c *Crypter) verify(msgSignature, timestamp, nonce string, encrypt []byte) error {
	want := signature(c.token, timestamp, nonce, encrypt)
	if len(msgSignature) != len(want) {
		return errSignature()
	}
	var diff byte
	for i := range want {
		diff |= want[i] ^ msgSignature[i]
	}
	if diff != 0 {
		return errSignature()
	}
	return nil
}

// VerifyURL checks the GET verification signature over echostr (already
// URL-decoded) and returns the plaintext to echo.
func (c *Crypter) VerifyURL(msgSignature, timestamp, nonce, echostr string) ([]byte, error) {
	if echostr == "" {
		return nil, malformed(-40002, "empty echostr", nil)
	}
	return c.open(msgSignature, timestamp, nonce, []byte(echostr))
}

// Open verifies and decrypts a POST body: the XML envelope
// <xml><ToUserName/><AgentID/><Encrypt/></xml> or the JSON envelope
// {"tousername","encrypt","agentid"}. The plaintext's receiveid must be the
// Crypter's. It returns the decrypted msg, ready for ParseEvent.
//
// The body size is not limited here: the handler caps it (1 MiB).
func (c *Crypter) Open(msgSignature, timestamp, nonce string, body []byte) ([]byte, error) {
	enc, err := envelopeEncrypt(body)
	if err != nil {
		return nil, err
	}
	return c.open(msgSignature, timestamp, nonce, enc)
}

func (c *Crypter) open(msgSignature, timestamp, nonce string, enc []byte) ([]byte, error) {
	if err := c.verify(msgSignature, timestamp, nonce, enc); err != nil {
		return nil, err
	}
	msg, rid, err := c.decrypt(enc)
	if err != nil {
		return nil, err
	}
	if string(rid) != c.receiveID {
		return nil, errReceiveID()
	}
	return msg, nil
}

// envelopeEncrypt extracts the Encrypt value of an XML or JSON envelope.
func envelopeEncrypt(body []byte) ([]byte, error) {
	i := skipSpace(body, skipBOM(body))
	if i < len(body) && body[i] == '{' {
		var env struct {
			Encrypt *string `json:"encrypt"`
		}
		if err := json.Unmarshal(body[i:], &env); err != nil {
			return nil, malformed(-40002, "JSON envelope", err)
		}
		if env.Encrypt == nil || *env.Encrypt == "" {
			return nil, malformed(-40002, "envelope has no encrypt", nil)
		}
		return []byte(*env.Encrypt), nil
	}
	// No checkChars here: the one value taken, Encrypt, must be base64.
	sc := scanner[[]byte]{s: body}
	var (
		val     textAcc[[]byte]
		enc     []byte
		inField bool
	)
	for {
		tok, err := sc.next()
		if err != nil {
			return nil, err
		}
		switch tok.kind {
		case tokEOF:
			if len(enc) == 0 {
				return nil, malformed(-40002, "envelope has no Encrypt", nil)
			}
			return enc, nil
		case tokStart:
			if tok.depth == 2 {
				inField = eq(tok.data, "Encrypt")
				val.reset()
			}
		case tokText, tokCDATA:
			if tok.depth == 2 && inField {
				val.add(tok.data, tok.kind == tokCDATA)
			}
		case tokEnd:
			if tok.depth == 2 && inField {
				inField = false
				if enc, err = val.value(); err != nil {
					return nil, err
				}
			}
		}
	}
}

// Decrypt decrypts one Encrypt value without checking any signature and
// returns msg and the receiveid found in the plaintext. Its errors tell
// padding failures apart, so never expose it to unauthenticated input:
// Open and VerifyURL check the signature first.
func (c *Crypter) Decrypt(encrypt string) (msg []byte, receiveID string, err error) {
	m, rid, err := c.decrypt([]byte(encrypt))
	if err != nil {
		return nil, "", err
	}
	return m, string(rid), nil
}

// decrypt base64-decodes enc into one new buffer, decrypts it in place and
// returns msg and receiveid as sub-slices of that buffer.
func (c *Crypter) decrypt(enc []byte) (msg, rid []byte, err error) {
	buf := make([]byte, b64.DecodedLen(len(enc)))
	n, err := b64.Decode(buf, enc)
	if err != nil {
		return nil, nil, malformed(-40010, "base64", err)
	}
	buf = buf[:n]
	if n == 0 || n%aes.BlockSize != 0 {
		return nil, nil, malformed(-40007, "ciphertext length "+strconv.Itoa(n)+" is not a positive multiple of 16", nil)
	}
	cipher.NewCBCDecrypter(c.block, c.key[:aes.BlockSize]).CryptBlocks(buf, buf)

	// PKCS#7 with WeCom's block of 32: pad in [1,32], every pad byte = pad.
	pad := int(buf[n-1])
	if pad < 1 || pad > 32 || pad > n {
		return nil, nil, malformed(-40007, "bad padding", nil)
	}
	var bad byte
	for _, b := range buf[n-pad:] {
		bad |= b ^ byte(pad)
	}
	if bad != 0 {
		return nil, nil, malformed(-40007, "bad padding", nil)
	}
	pt := buf[:n-pad]

	// random(16) || msg_len (uint32 BE) || msg || receiveid
	if len(pt) < 20 {
		return nil, nil, malformed(-40008, "plaintext shorter than its header", nil)
	}
	l := uint64(binary.BigEndian.Uint32(pt[16:20]))
	if l > uint64(len(pt)-20) {
		return nil, nil, malformed(-40008, "msg_len exceeds the plaintext", nil)
	}
	end := 20 + int(l)
	return pt[20:end:end], pt[end:], nil
}

// Encrypt builds random(16) || msg_len || msg || receiveid, pads it with
// PKCS#7 to a multiple of 32, encrypts it with AES-256-CBC (IV = key[:16])
// and returns it base64-encoded.
func (c *Crypter) Encrypt(msg []byte) (string, error) {
	if uint64(len(msg)) > math.MaxUint32 {
		return "", &CryptoError{Code: -40006, Kind: ErrKindMalformed, Msg: "message too long"}
	}
	n := 20 + len(msg) + len(c.receiveID)
	pad := 32 - n%32
	buf := make([]byte, n+pad)
	if _, err := rand.Read(buf[:16]); err != nil {
		return "", &CryptoError{Code: -40006, Kind: ErrKindConfig, Msg: "random prefix", err: err}
	}
	binary.BigEndian.PutUint32(buf[16:20], uint32(len(msg)))
	copy(buf[20:], msg)
	copy(buf[20+len(msg):], c.receiveID)
	for i := n; i < len(buf); i++ {
		buf[i] = byte(pad)
	}
	cipher.NewCBCEncrypter(c.block, c.key[:aes.BlockSize]).CryptBlocks(buf, buf)
	return base64.StdEncoding.EncodeToString(buf), nil
}

// Seal encrypts msg and returns the XML envelope WeCom would POST plus its
// msg_signature. The simulator uses it to play WeCom.
func (c *Crypter) Seal(msg []byte, timestamp, nonce string) (body []byte, msgSignature string, err error) {
	enc, err := c.Encrypt(msg)
	if err != nil {
		return nil, "", err
	}
	b := make([]byte, 0, len(enc)+len(c.receiveID)+128)
	b = append(b, "<xml><ToUserName>"...)
	b = appendCDATA(b, c.receiveID)
	b = append(b, "</ToUserName><AgentID><![CDATA[]]></AgentID><Encrypt>"...)
	b = appendCDATA(b, enc)
	b = append(b, "</Encrypt></xml>"...)
	return b, c.Signature(timestamp, nonce, enc), nil
}

// SealEcho returns the echostr (not URL-encoded) and msg_signature of a GET
// URL verification whose plaintext is echo.
func (c *Crypter) SealEcho(echo []byte, timestamp, nonce string) (echostr, msgSignature string, err error) {
	enc, err := c.Encrypt(echo)
	if err != nil {
		return "", "", err
	}
	return enc, c.Signature(timestamp, nonce, enc), nil
}

// appendCDATA wraps s in CDATA, splitting any "]]>" across two sections.
func appendCDATA(b []byte, s string) []byte {
	b = append(b, "<![CDATA["...)
	for {
		i := strings.Index(s, "]]>")
		if i < 0 {
			break
		}
		b = append(b, s[:i+2]...)
		b = append(b, "]]><![CDATA["...)
		s = s[i+2:]
	}
	b = append(b, s...)
	return append(b, "]]>"...)
}
