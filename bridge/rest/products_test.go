package rest

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
)

func TestVehiclesListsTheAccountsCars(t *testing.T) {
	var gotAuth, gotPath string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAuth, gotPath = r.Header.Get("Authorization"), r.URL.Path
		_, _ = io.WriteString(w, `{"response":[{"id":1,"vin":"5YJ3E7EB9NF123456","display_name":"Model 3"},`+
			`{"energy_site_id":12345,"site_name":"Home"},{"id":2,"vin":"7SAYGDEE1PA654321"}],"count":3}`)
	}))
	defer srv.Close()
	c, _ := New(Options{BaseURL: srv.URL, Token: token})
	vins, r, err := c.Vehicles(context.Background())
	if err != nil || !r.OK() || !slices.Equal(vins, []string{"5YJ3E7EB9NF123456", "7SAYGDEE1PA654321"}) {
		t.Fatalf("Vehicles = %v %+v %v", vins, r, err)
	}
	if gotAuth != "Bearer "+token || gotPath != "/api/1/products" {
		t.Fatalf("request: auth %q path %q", gotAuth, gotPath)
	}
}

func TestVehiclesErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"response":null,"error":"invalid_token"}`)
			return
		}
		_, _ = io.WriteString(w, `{"response":{"not":"a list"}}`)
	}))
	defer srv.Close()
	bad, _ := New(Options{BaseURL: srv.URL, Token: "wrong"})
	if vins, r, err := bad.Vehicles(context.Background()); err != nil || r.Status != 401 || r.Reason() != "invalid_token" || vins != nil {
		t.Fatalf("401: %v %+v %v", vins, r, err)
	}
	good, _ := New(Options{BaseURL: srv.URL, Token: token})
	if _, _, err := good.Vehicles(context.Background()); err == nil {
		t.Fatal("a malformed list was accepted")
	}
}
