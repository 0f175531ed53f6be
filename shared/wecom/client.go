package wecom

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/siyuhq/siyu/shared/clock"
	"github.com/siyuhq/siyu/shared/store"
)

// maxTokenRefreshes bounds the refreshes of one call after WeCom refused
// its access token (see Client.do).
const maxTokenRefreshes = 2

// DefaultBaseURL is WeCom's API host.
const DefaultBaseURL = "https://qyapi.weixin.qq.com"

// Error codes the client reacts to (reference §5).
const (
	CodeBusy               = -1
	CodeInvalidSecret      = 40001
	CodeInvalidUserID      = 40003
	CodeInvalidToken       = 40014
	CodeInvalidParameter   = 40058
	CodeInvalidExternalID  = 40096
	CodeMissingToken       = 41001
	CodeTokenExpired       = 42001
	CodeGroupMsgDispatch   = 41063
	CodeMomentTaskLimit    = 41078
	CodeMomentDispatch     = 41079
	CodeRateLimited        = 45009
	CodeConcurrencyLimited = 45033
	CodeNoPermission       = 48002
	CodeTooManyRequested   = 81017
	CodeNoRelationship     = 84061
	CodeBadWebhook         = 93000
)

// maxResponse bounds a response body; WeCom answers are small JSON.
const maxResponse = 16 << 20

// ClientConfig configures a Client. Only CorpID and Secret are required.
type ClientConfig struct {
	// BaseURL defaults to DefaultBaseURL (WECOM_API_BASE).
	BaseURL string
	CorpID  string
	Secret  string
	// Store caches the access token for every instance of every function.
	// Without it the token is cached in memory only.
	Store store.Store
	HTTP  *http.Client
	// Now is the clock; defaults to time.Now.
	Now    func() time.Time
	Logger *slog.Logger
	// MaxRetries is how many times a call failing with -1, 45009 or 45033
	// (or a transport error on a read) is retried; 0 means 2 (3 tries), a
	// negative value disables retries.
	MaxRetries int
	// MaxBackoff caps one wait between tries; 0 means 5 s. A 45009 block
	// lasts a minute, longer than a function run should idle, so the wait is
	// capped and the error surfaces instead.
	MaxBackoff time.Duration
	// Sleep waits between tries; defaults to a timer honouring ctx. Tests
	// replace it to run instantly.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Client calls WeCom's server API with a shared, self-refreshing access
// token. It is safe for concurrent use.
type Client struct {
	base       string
	corpID     string
	secret     string
	http       *http.Client
	now        func() time.Time
	log        *slog.Logger
	maxRetries int
	maxBackoff time.Duration
	sleep      func(context.Context, time.Duration) error
	tokens     *tokenCache
}

// NewClient returns a Client for cfg.
func NewClient(cfg ClientConfig) *Client {
	c := &Client{
		base:       strings.TrimRight(cfg.BaseURL, "/"),
		corpID:     cfg.CorpID,
		secret:     cfg.Secret,
		http:       cfg.HTTP,
		now:        cfg.Now,
		log:        cfg.Logger,
		maxRetries: cfg.MaxRetries,
		maxBackoff: cfg.MaxBackoff,
		sleep:      cfg.Sleep,
	}
	if c.base == "" {
		c.base = DefaultBaseURL
	}
	if c.http == nil {
		c.http = &http.Client{Timeout: 30 * time.Second}
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	switch {
	case c.maxRetries == 0:
		c.maxRetries = 2
	case c.maxRetries < 0:
		c.maxRetries = 0
	}
	if c.maxBackoff <= 0 {
		c.maxBackoff = 5 * time.Second
	}
	if c.sleep == nil {
		c.sleep = clock.Sleep
	}
	c.tokens = newTokenCache(c, cfg.Store)
	return c
}

// APIError is a nonzero errcode answered by WeCom. Its text never holds the
// access token, the secret or a webhook key.
type APIError struct {
	// Op is the API path below /cgi-bin/, e.g. "externalcontact/list".
	Op   string
	Code int
	Msg  string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("wecom %s: errcode %d: %s", e.Op, e.Code, e.Msg)
}

// Temporary reports whether the same call may succeed later: system busy,
// rate or concurrency limits, and jobs WeCom is still dispatching.
func (e *APIError) Temporary() bool {
	switch e.Code {
	case CodeBusy, CodeRateLimited, CodeConcurrencyLimited,
		CodeGroupMsgDispatch, CodeMomentTaskLimit, CodeMomentDispatch:
		return true
	}
	return false
}

// IsCode reports whether err is (or wraps) an APIError with code.
func IsCode(err error, code int) bool {
	var e *APIError
	return errors.As(err, &e) && e.Code == code
}

// request is one API call.
type request struct {
	op     string // path below /cgi-bin/
	method string
	query  url.Values
	body   any // JSON-encoded when not nil
	out    any // JSON-decoded on errcode 0 when not nil
	// rawURL replaces base+path and token (webhook robots carry their own key).
	rawURL string
	// idempotent calls are retried on transport errors too.
	idempotent bool
	// paced calls surface 45009 at once: their caller keeps the pace.
	paced bool
}

// envelope is the part every answer shares.
type envelope struct {
	ErrCode int    `json:"errcode"`
	ErrMsg  string `json:"errmsg"`
}

// do calls a token-authenticated API under /cgi-bin/. Reads (GET, and POSTs
// listed as reads by their wrappers) are retried on transport errors.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, reqBody, respBody any) error {
	return c.call(ctx, request{op: path, method: method, query: query, body: reqBody, out: respBody, idempotent: method == http.MethodGet})
}

// read is do for a POST that only reads.
func (c *Client) read(ctx context.Context, path string, reqBody, respBody any) error {
	return c.call(ctx, request{op: path, method: http.MethodPost, body: reqBody, out: respBody, idempotent: true})
}

func (c *Client) call(ctx context.Context, r request) error {
	var body []byte
	if r.body != nil {
		b, err := json.Marshal(r.body)
		if err != nil {
			return fmt.Errorf("wecom %s: encode request: %w", r.op, err)
		}
		body = b
	}
	var rejected []string // the tokens WeCom refused in this call
	for try := 0; ; try++ {
		target := r.rawURL
		tok := ""
		if target == "" {
			var err error
			tok, err = c.tokens.get(ctx, rejected...)
			if err != nil {
				return fmt.Errorf("wecom %s: %w", r.op, err)
			}
			q := url.Values{}
			for k, v := range r.query {
				q[k] = v
			}
			q.Set("access_token", tok)
			target = c.base + "/cgi-bin/" + r.op + "?" + q.Encode()
		}
		raw, err := c.roundTrip(ctx, r.method, target, body)
		if err != nil {
			err = fmt.Errorf("wecom %s: %w", r.op, err)
			if r.idempotent && try < c.maxRetries && ctx.Err() == nil {
				if werr := c.wait(ctx, r.op, 0, try, err); werr != nil {
					return werr
				}
				continue
			}
			return err
		}
		if r.out != nil {
			if f, ok := r.out.(fastDecoder); ok && f.decodeFast(raw) {
				return nil
			}
			// Decode a success once, into its result (scanErrCode).
			if code, ok := scanErrCode(raw); ok && code == 0 {
				if err := json.Unmarshal(raw, r.out); err != nil {
					return fmt.Errorf("wecom %s: decode answer: %w", r.op, err)
				}
				return nil
			}
		}
		var env envelope
		if err := json.Unmarshal(raw, &env); err != nil {
			return fmt.Errorf("wecom %s: decode answer: %w", r.op, err)
		}
		switch {
		case env.ErrCode == 0:
			if r.out != nil {
				if err := json.Unmarshal(raw, r.out); err != nil {
					return fmt.Errorf("wecom %s: decode answer: %w", r.op, err)
				}
			}
			return nil
		case tok != "" && len(rejected) < maxTokenRefreshes && !slices.Contains(rejected, tok) &&
			(env.ErrCode == CodeInvalidToken || env.ErrCode == CodeTokenExpired):
			// WeCom may revoke tokens early: drop this one, refresh, retry.
			// When WeCom revokes every token at once, the token the refresh
			// finds (another instance's in the shared cache, or one this
			// instance fetched just before) may be dead too: that one is
			// dropped and refreshed once more. A token refused twice is
			// not retried again.
			rejected = append(rejected, tok)
			try--
			if err := c.tokens.invalidate(ctx, tok); err != nil {
				return fmt.Errorf("wecom %s: %w", r.op, err)
			}
			continue
		}
		apiErr := &APIError{Op: r.op, Code: env.ErrCode, Msg: env.ErrMsg}
		if retryable(env.ErrCode) && try < c.maxRetries && !(r.paced && env.ErrCode == CodeRateLimited) {
			if werr := c.wait(ctx, r.op, env.ErrCode, try, apiErr); werr != nil {
				return werr
			}
			continue
		}
		return apiErr
	}
}

// retryable codes are retried inside one call; other temporary codes
// (a job still dispatching) take longer and are the caller's to retry.
func retryable(code int) bool {
	return code == CodeBusy || code == CodeRateLimited || code == CodeConcurrencyLimited
}

// wait sleeps before try+1, or returns cause when ctx ends first.
func (c *Client) wait(ctx context.Context, op string, code, try int, cause error) error {
	d := c.backoff(code, try)
	c.log.LogAttrs(ctx, slog.LevelWarn, "wecom call retry",
		slog.String("op", op), slog.Int("errcode", code), slog.Int("try", try+1), slog.Duration("wait", d), slog.String("error", cause.Error()))
	if err := c.sleep(ctx, d); err != nil {
		return fmt.Errorf("%w (gave up waiting: %v)", cause, err)
	}
	return nil
}

// backoff is exponential from 500 ms with jitter in [d/2, d]; a rate-limit
// block waits the cap straight away.
func (c *Client) backoff(code, try int) time.Duration {
	d := 500 * time.Millisecond << try
	if code == CodeRateLimited || d > c.maxBackoff {
		d = c.maxBackoff
	}
	return d/2 + rand.N(d/2+1)
}

// roundTrip sends one request and returns the body of a 200 answer. Errors
// never carry the URL's secrets.
func (c *Client) roundTrip(ctx context.Context, method, target string, body []byte) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", redactErr(err))
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, redactErr(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return nil, fmt.Errorf("read answer: %w", redactErr(err))
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("http status %d", resp.StatusCode)
	}
	return raw, nil
}

// secretParams are query parameters that must never be logged or returned.
var secretParams = []string{"access_token", "corpsecret", "key"}

// RedactURL hides the access token, secret and webhook key in a URL.
func RedactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable url)"
	}
	q := u.Query()
	for _, p := range secretParams {
		if q.Has(p) {
			q.Set(p, "REDACTED")
		}
	}
	u.RawQuery = q.Encode()
	u.User = nil
	return u.String()
}

// redactErr rewrites the URL inside a *url.Error.
func redactErr(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return &url.Error{Op: ue.Op, URL: RedactURL(ue.URL), Err: ue.Err}
	}
	return err
}
