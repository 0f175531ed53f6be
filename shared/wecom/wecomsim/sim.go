// Package wecomsim is a WeCom (企业微信) server in a box, in the spirit of
// net/http/httptest: a real HTTP server on loopback that follows the
// documented customer-contact API (tokens that expire, per-minute rate
// limits, cursor paging, error codes) and calls back like WeCom does when
// its state changes (sealed event XML, 5 s timeout, retries).
//
//	sim := wecomsim.New(wecomsim.Options{Seed: 1})
//	defer sim.Close()
//	client := wecom.NewClient(wecom.ClientConfig{BaseURL: sim.URL, CorpID: sim.CorpID(), Secret: sim.Secret()})
//
// Tests and the local demo drive it through its methods: AddCustomer,
// ArriveThroughContactWay, ArriveThroughLink, CustomerDeletesMember,
// JoinGroup…, Inject for errors, Seed and Simulate for a brand's worth of
// plausible traffic; Welcomes, AppMessages and TagsOf tell what the brand
// did through the API.
package wecomsim

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/siyuhq/siyu/shared/wecom"
)

// Defaults for Options fields left empty. The AES key is 43 characters of
// [a-zA-Z0-9] as the admin console generates.
const (
	DefaultCorpID         = "wwsim0000c0ffee01"
	DefaultSecret         = "sim-customer-contact-secret-0001"
	DefaultToken          = "simtoken"
	DefaultEncodingAESKey = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
	// DefaultAgentID is the self-built app message/send accepts.
	DefaultAgentID = 1000002
)

// TokenTTL is how long an access token lives (gettoken's expires_in).
const TokenTTL = 7200 * time.Second

// Options configures a Sim. Every field is optional.
type Options struct {
	CorpID string
	// Secret is the customer-contact secret gettoken accepts.
	Secret string
	// Token and EncodingAESKey seal callbacks (the callback config's
	// Token and EncodingAESKey).
	Token          string
	EncodingAESKey string
	// AgentID is the app the secret belongs to: message/send accepts only
	// it (301002 for another). 0 means DefaultAgentID.
	AgentID int
	// Seed makes generated ids, names and traffic repeatable.
	Seed int64
	// Now is the simulator's clock (token expiry, rate windows, envelope
	// timestamps); defaults to time.Now.
	Now func() time.Time

	// CallbackURL receives the events; SetCallbackURL changes it later.
	CallbackURL string
	// CallbackTimeout bounds one delivery attempt; WeCom waits 5 s.
	CallbackTimeout time.Duration
	// CallbackRetries is how many times a timed-out or non-200 delivery is
	// retried; WeCom says three. Negative disables retries.
	CallbackRetries int
	// CallbackRetryDelay waits between attempts; 0 retries at once.
	CallbackRetryDelay time.Duration
	// VerifyTimeout bounds VerifyURL; WeCom allows 1 s.
	VerifyTimeout time.Duration

	// RateLimit is calls per API per minute before 45009; 0 means 10000,
	// WeCom's per-corp figure. RateLimits overrides it per path
	// ("/cgi-bin/externalcontact/list").
	RateLimit  int
	RateLimits map[string]int
	// RobotKeys are the webhook keys that exist; empty accepts any key.
	RobotKeys []string

	// StateFile, when set, keeps what the brand published (Moments, group
	// messages, Moment jobs) and its first-touch setup (contact ways,
	// acquisition links, the tag library) across restarts, as WeCom does:
	// New reads it and every change rewrites it. The brand itself is
	// derived from Seed.
	StateFile string

	// HTTPClient delivers callbacks; its Timeout is ignored.
	HTTPClient *http.Client
	Logger     *slog.Logger

	// BeforeDeliver, when set, is told of each callback before it is
	// posted (not of suppressed ones): a model driving the app on a test
	// clock moves the clock to the event's time there, so each event is
	// received — and its follow-up handled — as it would be live.
	BeforeDeliver func(ev wecom.Event)
}

// Sim is a running simulator. Its methods are safe for concurrent use.
type Sim struct {
	// URL is the base URL of the server, e.g. http://127.0.0.1:41234; pass
	// it as the client's BaseURL.
	URL string

	opts    Options
	crypter *wecom.Crypter
	log     *slog.Logger
	http    *http.Client
	srv     *http.Server
	served  chan struct{}

	mu sync.Mutex
	st *state
	// rng drives ids, names and traffic; tokens and nonces use their own
	// source so API traffic does not shift the generated brand.
	rng   *rand.Rand
	noise *rand.Rand

	tokens      map[string]time.Time // access token → expiry
	current     string
	injections  map[string][]injection
	calls       map[string]int
	windows     map[string]window
	robot       []RobotMessage
	callbackURL string
	suppress    int
	deliveries  []Delivery
	seeded      SeedConfig
}

type injection struct {
	code  int
	times int
}

// window counts calls of one API (or robot) in one clock minute.
type window struct {
	minute int64
	n      int
}

// New starts a simulator on 127.0.0.1:0. Close stops it.
func New(opts Options) *Sim {
	s := NewUnstarted(opts)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(fmt.Sprintf("wecomsim: listen on loopback: %v", err))
	}
	s.URL = "http://" + ln.Addr().String()
	s.srv = &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	s.served = make(chan struct{})
	go func() {
		defer close(s.served)
		_ = s.srv.Serve(ln)
	}()
	return s
}

// NewUnstarted returns a simulator without a listener, for a caller that
// mounts Handler on its own server (the local stack). Set URL if callers
// of its methods need it.
func NewUnstarted(opts Options) *Sim {
	if opts.CorpID == "" {
		opts.CorpID = DefaultCorpID
	}
	if opts.Secret == "" {
		opts.Secret = DefaultSecret
	}
	if opts.Token == "" {
		opts.Token = DefaultToken
	}
	if opts.EncodingAESKey == "" {
		opts.EncodingAESKey = DefaultEncodingAESKey
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.AgentID == 0 {
		opts.AgentID = DefaultAgentID
	}
	if opts.CallbackTimeout <= 0 {
		opts.CallbackTimeout = 5 * time.Second
	}
	switch {
	case opts.CallbackRetries == 0:
		opts.CallbackRetries = 3
	case opts.CallbackRetries < 0:
		opts.CallbackRetries = 0
	}
	if opts.VerifyTimeout <= 0 {
		opts.VerifyTimeout = time.Second
	}
	if opts.RateLimit <= 0 {
		opts.RateLimit = 10000
	}
	crypter, err := wecom.NewCrypter(opts.Token, opts.EncodingAESKey, opts.CorpID)
	if err != nil {
		panic(fmt.Sprintf("wecomsim: callback crypto: %v", err))
	}
	hc := opts.HTTPClient
	if hc == nil {
		hc = &http.Client{}
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	seed := uint64(opts.Seed)
	s := &Sim{
		opts:        opts,
		crypter:     crypter,
		log:         log,
		http:        hc,
		st:          newState(),
		rng:         rand.New(rand.NewPCG(seed, 0x5179_7573)),
		noise:       rand.New(rand.NewPCG(seed, uint64(time.Now().UnixNano()))),
		tokens:      map[string]time.Time{},
		injections:  map[string][]injection{},
		calls:       map[string]int{},
		windows:     map[string]window{},
		callbackURL: opts.CallbackURL,
	}
	if err := s.loadState(); err != nil {
		panic(fmt.Sprintf("wecomsim: %v", err))
	}
	return s
}

// Close stops the server and waits for it.
func (s *Sim) Close() {
	if s.srv == nil {
		return
	}
	_ = s.srv.Close()
	<-s.served
}

// CorpID, Secret, Token and EncodingAESKey are the effective credentials.
func (s *Sim) CorpID() string { return s.opts.CorpID }

// Secret is the customer-contact secret gettoken accepts.
func (s *Sim) Secret() string { return s.opts.Secret }

// AgentID is the app message/send accepts.
func (s *Sim) AgentID() int { return s.opts.AgentID }

// Token is the callback token.
func (s *Sim) Token() string { return s.opts.Token }

// EncodingAESKey is the callback AES key.
func (s *Sim) EncodingAESKey() string { return s.opts.EncodingAESKey }

// Crypter is the callback crypter (the receiver's must match it).
func (s *Sim) Crypter() *wecom.Crypter { return s.crypter }

func (s *Sim) now() time.Time { return s.opts.Now() }

// ExpireTokens makes every issued access token expire now: the next call
// with one answers 42001 and gettoken issues a new one.
func (s *Sim) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for tok := range s.tokens {
		s.tokens[tok] = time.Time{}
	}
	s.current = ""
}

// Inject makes the next times calls to path (e.g.
// "/cgi-bin/externalcontact/list") answer errcode, before anything else is
// checked.
func (s *Sim) Inject(path string, errcode, times int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.injections[path] = append(s.injections[path], injection{code: errcode, times: times})
}

// Calls counts the requests received on path, injected errors included.
func (s *Sim) Calls(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[path]
}

// SetRateLimit sets the per-minute limit of one path (0 restores the default).
func (s *Sim) SetRateLimit(path string, perMinute int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.opts.RateLimits == nil {
		s.opts.RateLimits = map[string]int{}
	}
	if perMinute <= 0 {
		delete(s.opts.RateLimits, path)
		return
	}
	s.opts.RateLimits[path] = perMinute
}

// SetCallbackURL points callbacks at url ("" stops delivery).
func (s *Sim) SetCallbackURL(url string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.callbackURL = url
}

// SuppressCallbacks drops the next n callbacks: the state changes, WeCom
// "forgets" to call (a callback lost while the receiver was down).
func (s *Sim) SuppressCallbacks(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.suppress += n
}

// RobotMessage is a message a group robot received.
type RobotMessage struct {
	Key     string
	MsgType string
	Content string
	At      time.Time
}

// RobotMessages returns the robot messages received so far.
func (s *Sim) RobotMessages() []RobotMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]RobotMessage(nil), s.robot...)
}

// ErrUnknown reports a member, customer, relationship or group the
// simulator does not have.
var ErrUnknown = errors.New("wecomsim: unknown")
