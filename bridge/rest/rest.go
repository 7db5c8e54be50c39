// Package rest is the one place in teslemetry2mqtt that speaks Teslemetry's
// REST API: vehicle commands, wake-up, vehicle state, energy-site commands and
// the field-config API (docs/commands.md). It sends the token only in the
// Authorization header, only to the configured scheme, host and port, and
// never puts it in an error or a log line.
package rest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// MaxResponse bounds how much of an answer is read.
const MaxResponse = 1 << 20

// DefaultTimeout bounds one request when Options.Timeout is zero.
const DefaultTimeout = 20 * time.Second

// Options configure a Client.
type Options struct {
	BaseURL   string // teslemetry.url, e.g. https://api.teslemetry.com
	Token     string
	UserAgent string
	Timeout   time.Duration     // per request; DefaultTimeout when zero
	Transport http.RoundTripper // nil: a transport of its own with connection reuse
}

// Client sends requests to Teslemetry. It is safe for concurrent use.
type Client struct {
	base  *url.URL
	token string
	ua    string
	http  *http.Client
}

// New returns a client for o.BaseURL.
func New(o Options) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(o.BaseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("teslemetry.url: must be an http:// or https:// URL")
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	tr := o.Transport
	if tr == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 4
		t.IdleConnTimeout = 90 * time.Second
		tr = t
	}
	c := &Client{base: u, token: o.Token, ua: o.UserAgent}
	c.http = &http.Client{Transport: tr, Timeout: o.Timeout, CheckRedirect: c.checkRedirect}
	return c, nil
}

// checkRedirect follows a redirect only to the configured scheme, host and
// port: the token must never travel anywhere else, nor over a downgrade.
func (c *Client) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 5 {
		return errors.New("too many redirects")
	}
	if !SameOrigin(c.base, req.URL) {
		return fmt.Errorf("refusing redirect to another origin (%s://%s)", req.URL.Scheme, req.URL.Host)
	}
	return nil
}

// SameOrigin reports whether u has the scheme, host and port of base
// (default ports made explicit).
func SameOrigin(base, u *url.URL) bool {
	return strings.EqualFold(base.Scheme, u.Scheme) && strings.EqualFold(base.Hostname(), u.Hostname()) && port(base) == port(u)
}

func port(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if strings.EqualFold(u.Scheme, "https") {
		return "443"
	}
	return "80"
}

// Response is Teslemetry's answer to one request.
type Response struct {
	Status      int             // HTTP status
	Result      json.RawMessage // the "response" member of the envelope (may be null)
	Error       string          // "error" member on failure, e.g. "invalid_token"
	Description string          // "error_description"
	RetryAfter  time.Duration   // from a Retry-After header, when given in seconds
	Body        []byte          // the whole body (bounded by MaxResponse)
}

// OK reports a 2xx status.
func (r Response) OK() bool { return r.Status >= 200 && r.Status < 300 }

// Reason names a failed answer briefly: the error key, else the description, else the status text.
func (r Response) Reason() string {
	switch {
	case r.Error != "":
		return r.Error
	case r.Description != "":
		return r.Description
	default:
		return strings.ToLower(strings.ReplaceAll(http.StatusText(r.Status), " ", "_"))
	}
}

// Do sends one request. body is marshalled as JSON unless nil. The error is
// for transport failures only (no answer, timeout, refused redirect); any
// HTTP answer, 2xx or not, is a Response.
func (c *Client) Do(ctx context.Context, method, path string, body any) (Response, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return Response{}, fmt.Errorf("encoding %s %s: %w", method, path, err)
		}
		rd = bytes.NewReader(b)
	}
	u := *c.base
	u.Path = c.base.Path + path
	u.RawQuery = ""
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return Response{}, fmt.Errorf("%s %s: %w", method, path, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.ua != "" {
		req.Header.Set("User-Agent", c.ua)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return Response{}, fmt.Errorf("%s %s: %w", method, path, unwrapURLError(err))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponse))
	if err != nil {
		return Response{}, fmt.Errorf("%s %s: reading answer: %w", method, path, err)
	}
	r := Response{Status: resp.StatusCode, Body: raw}
	if s := resp.Header.Get("Retry-After"); s != "" {
		if n, err := strconv.Atoi(strings.TrimSpace(s)); err == nil && n >= 0 {
			r.RetryAfter = time.Duration(n) * time.Second
		}
	}
	var env struct {
		Response    json.RawMessage `json:"response"`
		Error       string          `json:"error"`
		Description string          `json:"error_description"`
	}
	if json.Unmarshal(raw, &env) == nil {
		r.Result, r.Error, r.Description = env.Response, env.Error, env.Description
	}
	return r, nil
}

// unwrapURLError drops *url.Error's "Post "<url>":" wrapper: the URL is
// already named by the caller, and a redirect target may carry anything.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// Command sends POST /api/1/vehicles/{vin}/command/{name}.
func (c *Client) Command(ctx context.Context, vin, name string, body any) (Response, error) {
	if body == nil {
		body = struct{}{}
	}
	return c.Do(ctx, http.MethodPost, "/api/1/vehicles/"+url.PathEscape(vin)+"/command/"+url.PathEscape(name), body)
}

// Wake sends POST /api/1/vehicles/{vin}/wake_up and returns the state the answer names.
func (c *Client) Wake(ctx context.Context, vin string) (string, Response, error) {
	r, err := c.Do(ctx, http.MethodPost, "/api/1/vehicles/"+url.PathEscape(vin)+"/wake_up", nil)
	return stateOf(r), r, err
}

// VehicleState sends GET /api/1/vehicles/{vin} and returns response.state
// ("online", "asleep", "offline", or "" when the answer has none).
func (c *Client) VehicleState(ctx context.Context, vin string) (string, Response, error) {
	r, err := c.Do(ctx, http.MethodGet, "/api/1/vehicles/"+url.PathEscape(vin), nil)
	return stateOf(r), r, err
}

// SiteCommand sends POST /api/1/energy_sites/{id}/{endpoint}.
func (c *Client) SiteCommand(ctx context.Context, siteID, endpoint string, body any) (Response, error) {
	return c.Do(ctx, http.MethodPost, "/api/1/energy_sites/"+url.PathEscape(siteID)+"/"+url.PathEscape(endpoint), body)
}

// FieldConfig sends GET /api/config/{vin}.
func (c *Client) FieldConfig(ctx context.Context, vin string) (Response, error) {
	return c.Do(ctx, http.MethodGet, "/api/config/"+url.PathEscape(vin), nil)
}

// PatchFieldConfig sends PATCH /api/config/{vin} with body (merged by Teslemetry).
func (c *Client) PatchFieldConfig(ctx context.Context, vin string, body any) (Response, error) {
	return c.Do(ctx, http.MethodPatch, "/api/config/"+url.PathEscape(vin), body)
}

func stateOf(r Response) string {
	if !r.OK() {
		return ""
	}
	var s struct {
		State string `json:"state"`
	}
	_ = json.Unmarshal(r.Result, &s)
	return s.State
}
