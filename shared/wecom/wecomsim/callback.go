package wecomsim

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/siyuhq/siyu/shared/clock"
	"github.com/siyuhq/siyu/shared/wecom"
)

// Delivery is what happened to one callback.
type Delivery struct {
	Event wecom.Event
	// Attempts counts POSTs made (0 when suppressed or nobody listens).
	Attempts int
	// Status is the last HTTP status (0 after a transport error).
	Status     int
	Delivered  bool
	Suppressed bool
	Err        string
}

// Deliveries returns every callback so far, in order.
func (s *Sim) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Delivery(nil), s.deliveries...)
}

// DeliveryError is returned by a state change whose callback could not be
// delivered after every retry. The state change itself took place.
type DeliveryError struct {
	Event    wecom.Event
	Attempts int
	Err      error
}

func (e *DeliveryError) Error() string {
	return fmt.Sprintf("wecomsim: callback %s/%s not delivered after %d attempts: %v", e.Event.Event, e.Event.ChangeType, e.Attempts, e.Err)
}

func (e *DeliveryError) Unwrap() error { return e.Err }

// deliver seals ev and POSTs it to the callback URL like WeCom: each
// attempt bounded by CallbackTimeout, retried on a timeout, a transport
// error or a non-200 answer. Called without s.mu held.
func (s *Sim) deliver(ctx context.Context, ev wecom.Event) error {
	s.mu.Lock()
	target := s.callbackURL
	suppressed := s.suppress > 0
	if suppressed {
		s.suppress--
	}
	s.mu.Unlock()
	d := Delivery{Event: ev, Suppressed: suppressed}
	defer func() {
		s.mu.Lock()
		s.deliveries = append(s.deliveries, d)
		s.mu.Unlock()
	}()
	if suppressed {
		return nil
	}
	if target == "" {
		d.Err = "no callback URL"
		return nil
	}
	if s.opts.BeforeDeliver != nil {
		s.opts.BeforeDeliver(ev)
	}
	msg := EventXML(ev)
	var last error
	for try := 0; try <= s.opts.CallbackRetries; try++ {
		if try > 0 {
			if err := clock.Sleep(ctx, s.opts.CallbackRetryDelay); err != nil {
				last = err
				break
			}
		}
		d.Attempts++
		status, err := s.post(ctx, target, msg)
		d.Status = status
		if err == nil && status == http.StatusOK {
			d.Delivered = true
			d.Err = ""
			return nil
		}
		if err == nil {
			err = fmt.Errorf("answered HTTP %d", status)
		}
		last = err
		d.Err = err.Error()
		if ctx.Err() != nil {
			break
		}
	}
	return &DeliveryError{Event: ev, Attempts: d.Attempts, Err: last}
}

// post makes one delivery attempt with a fresh envelope.
func (s *Sim) post(ctx context.Context, target string, msg []byte) (int, error) {
	ts := strconv.FormatInt(s.now().Unix(), 10)
	nonce := s.nonce()
	body, sig, err := s.crypter.Seal(msg, ts, nonce)
	if err != nil {
		return 0, fmt.Errorf("seal: %w", err)
	}
	u, err := withQuery(target, url.Values{"msg_signature": {sig}, "timestamp": {ts}, "nonce": {nonce}})
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.CallbackTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	resp, err := s.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, nil
}

func (s *Sim) nonce() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strconv.FormatUint(s.noise.Uint64()%1e10, 10)
}

func withQuery(target string, q url.Values) (string, error) {
	u, err := url.Parse(target)
	if err != nil {
		return "", fmt.Errorf("callback URL: %w", err)
	}
	all := u.Query()
	for k, v := range q {
		all[k] = v
	}
	u.RawQuery = all.Encode()
	return u.String(), nil
}

// VerifyURL does what the admin console does when a callback URL is saved:
// a GET with an encrypted echostr, answered within VerifyTimeout with the
// decrypted plaintext, exactly.
func (s *Sim) VerifyURL(ctx context.Context, callbackURL string) error {
	echo := s.nonce() + s.nonce()
	ts := strconv.FormatInt(s.now().Unix(), 10)
	nonce := s.nonce()
	echostr, sig, err := s.crypter.SealEcho([]byte(echo), ts, nonce)
	if err != nil {
		return fmt.Errorf("verify url: seal: %w", err)
	}
	u, err := withQuery(callbackURL, url.Values{"msg_signature": {sig}, "timestamp": {ts}, "nonce": {nonce}, "echostr": {echostr}})
	if err != nil {
		return fmt.Errorf("verify url: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.VerifyTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("verify url: %w", err)
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return fmt.Errorf("verify url: %w", err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if err != nil {
		return fmt.Errorf("verify url: read answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("verify url: answered HTTP %d", resp.StatusCode)
	}
	if string(got) != echo {
		return errors.New("verify url: answer is not the decrypted echostr (no quotes, BOM or newline allowed)")
	}
	return nil
}

// EventXML renders ev as WeCom's decrypted event message (reference §3):
// CDATA strings, integer times, MemChangeList as <Item> children. Fields
// an event kind does not carry are left out.
func EventXML(ev wecom.Event) []byte {
	var b strings.Builder
	b.WriteString("<xml>")
	cdata(&b, "ToUserName", ev.ToUserName, true)
	cdata(&b, "FromUserName", ev.FromUserName, true)
	num(&b, "CreateTime", ev.CreateTime)
	cdata(&b, "MsgType", ev.MsgType, true)
	cdata(&b, "Event", ev.Event, true)
	switch ev.Event {
	case wecom.EventExternalChat:
		cdata(&b, "ChatId", ev.ChatID, true)
		cdata(&b, "ChangeType", ev.ChangeType, true)
		if ev.UpdateDetail != "" {
			cdata(&b, "UpdateDetail", ev.UpdateDetail, true)
		}
		if ev.UpdateDetail == wecom.DetailAddMember || ev.UpdateDetail == wecom.DetailDelMember {
			num(&b, "JoinScene", int64(ev.JoinScene))
			num(&b, "QuitScene", int64(ev.QuitScene))
			num(&b, "MemChangeCnt", int64(ev.MemChangeCnt))
			b.WriteString("<MemChangeList>")
			for _, it := range ev.MemChangeList {
				cdata(&b, "Item", it, true)
			}
			b.WriteString("</MemChangeList>")
			cdata(&b, "LastMemVer", ev.LastMemVer, true)
			cdata(&b, "CurMemVer", ev.CurMemVer, true)
		}
	case wecom.EventExternalTag:
		cdata(&b, "Id", ev.TagID, true)
		cdata(&b, "TagType", ev.TagType, ev.TagType != "")
		cdata(&b, "ChangeType", ev.ChangeType, true)
		cdata(&b, "StrategyId", ev.StrategyID, ev.StrategyID != "")
	default:
		cdata(&b, "ChangeType", ev.ChangeType, true)
		if ev.ChangeType == wecom.ChangeTransferFail {
			cdata(&b, "FailReason", ev.FailReason, true)
		}
		cdata(&b, "UserID", ev.UserID, true)
		cdata(&b, "ExternalUserID", ev.ExternalUserID, true)
		cdata(&b, "State", ev.State, ev.State != "")
		cdata(&b, "WelcomeCode", ev.WelcomeCode, ev.WelcomeCode != "")
		cdata(&b, "Source", ev.Source, ev.Source != "")
	}
	b.WriteString("</xml>")
	return []byte(b.String())
}

func cdata(b *strings.Builder, name, v string, show bool) {
	if !show {
		return
	}
	// "]]>" cannot appear inside CDATA: split it across two sections.
	v = strings.ReplaceAll(v, "]]>", "]]]]><![CDATA[>")
	fmt.Fprintf(b, "<%s><![CDATA[%s]]></%s>", name, v, name)
}

func num(b *strings.Builder, name string, v int64) {
	fmt.Fprintf(b, "<%s>%d</%s>", name, v, name)
}

// deliverAll delivers evs in order, stopping at the first failure.
func (s *Sim) deliverAll(ctx context.Context, evs []wecom.Event) error {
	for _, ev := range evs {
		if err := s.deliver(ctx, ev); err != nil {
			return err
		}
	}
	return nil
}
