package rest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
)

// Vehicles sends GET /api/1/products and returns the VINs of the account's
// cars in the order Teslemetry lists them (energy sites and entries without
// a VIN are skipped). A non-2xx answer is returned as a Response with no VINs.
func (c *Client) Vehicles(ctx context.Context) ([]string, Response, error) {
	r, err := c.Do(ctx, http.MethodGet, "/api/1/products", nil)
	if err != nil || !r.OK() {
		return nil, r, err
	}
	var products []struct {
		VIN string `json:"vin"`
	}
	if err := json.Unmarshal(r.Result, &products); err != nil {
		return nil, r, fmt.Errorf("GET /api/1/products: reading the answer: %w", err)
	}
	var vins []string
	for _, p := range products {
		if p.VIN != "" {
			vins = append(vins, p.VIN)
		}
	}
	return vins, r, nil
}
