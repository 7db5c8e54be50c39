package rest

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

const token = "secret-token-abc123"

func TestCommandSendsBearerAndJSONAndParsesEnvelope(t *testing.T) {
	var gotAuth, gotPath, gotBody, gotType string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAuth, gotPath, gotType = r.Header.Get("Authorization"), r.URL.Path, r.Header.Get("Content-Type")
		b, _ := io.ReadAll(r.Body)
		gotBody = string(b)
		_, _ = io.WriteString(w, `{"response":{"result":true,"reason":""}}`)
	}))
	defer srv.Close()
	c, err := New(Options{BaseURL: srv.URL + "/", Token: token})
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.Command(context.Background(), "5YJ3E7EB9NF123456", "set_charge_limit", map[string]int{"percent": 80})
	if err != nil || !r.OK() {
		t.Fatalf("Command: %+v %v", r, err)
	}
	if gotAuth != "Bearer "+token || gotPath != "/api/1/vehicles/5YJ3E7EB9NF123456/command/set_charge_limit" ||
		gotBody != `{"percent":80}` || gotType != "application/json" {
		t.Fatalf("request: auth %q path %q body %q type %q", gotAuth, gotPath, gotBody, gotType)
	}
	if string(r.Result) != `{"result":true,"reason":""}` {
		t.Fatalf("result %s", r.Result)
	}
}

func TestErrorsAndStates(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/1/vehicles/V/wake_up":
			_, _ = io.WriteString(w, `{"response":{"state":"asleep"}}`)
		case "/api/1/vehicles/V":
			_, _ = io.WriteString(w, `{"response":{"state":"online"}}`)
		default:
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = io.WriteString(w, `{"response":null,"error":"rate_limited","error_description":"slow down"}`)
		}
	}))
	defer srv.Close()
	c, _ := New(Options{BaseURL: srv.URL, Token: token})
	ctx := context.Background()
	if s, _, err := c.Wake(ctx, "V"); s != "asleep" || err != nil {
		t.Fatalf("Wake = %q %v", s, err)
	}
	if s, _, err := c.VehicleState(ctx, "V"); s != "online" || err != nil {
		t.Fatalf("VehicleState = %q %v", s, err)
	}
	r, err := c.SiteCommand(ctx, "1", "backup", map[string]int{"backup_reserve_percent": 20})
	if err != nil || r.OK() || r.Status != 429 || r.Reason() != "rate_limited" || r.RetryAfter != 7*time.Second {
		t.Fatalf("429: %+v %v", r, err)
	}
}

func TestRedirectsKeepTheTokenHome(t *testing.T) {
	leaked := make(chan string, 4)
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		leaked <- r.Header.Get("Authorization")
	}))
	defer other.Close()
	home := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/1/vehicles/V/command/x" {
			http.Redirect(w, r, other.URL+"/steal", http.StatusTemporaryRedirect) // same host, other port
			return
		}
		http.Redirect(w, r, "/api/1/vehicles/V/command/x", http.StatusTemporaryRedirect)
	}))
	defer home.Close()
	c, _ := New(Options{BaseURL: home.URL, Token: token})
	_, err := c.Command(context.Background(), "V", "start", nil) // same-origin hop, then a cross-port one
	if err == nil || !strings.Contains(err.Error(), "refusing redirect") {
		t.Fatalf("err = %v, want a refused redirect", err)
	}
	if strings.Contains(err.Error(), token) {
		t.Fatal("error names the token")
	}
	select {
	case a := <-leaked:
		t.Fatalf("the other origin got a request (Authorization set: %v)", a != "")
	default:
	}
}

func TestNoAnswerErrorHasNoToken(t *testing.T) {
	c, _ := New(Options{BaseURL: "http://127.0.0.1:1", Token: token, Timeout: time.Second})
	_, err := c.FieldConfig(context.Background(), "V")
	if err == nil || strings.Contains(err.Error(), token) || !strings.Contains(err.Error(), "GET /api/config/V") {
		t.Fatalf("err = %v", err)
	}
	if _, err := New(Options{BaseURL: "ftp://x"}); err == nil {
		t.Fatal("ftp accepted")
	}
}
