package bridge

import (
	"strconv"
	"testing"
	"time"
)

func TestCapSetAdmitsUpToTheCapOnly(t *testing.T) {
	var c capSet
	for i := range MaxInterfaces {
		if ok, _ := c.admit(limitInterface, "if"+strconv.Itoa(i)); !ok {
			t.Fatalf("interface %d refused below the cap", i)
		}
	}
	ok, first := c.admit(limitInterface, "one-too-many")
	if ok || !first {
		t.Fatalf("over the cap: ok %v first %v, want false true", ok, first)
	}
	if ok, first := c.admit(limitInterface, "another"); ok || first {
		t.Fatalf("second refusal: ok %v first %v, want false false", ok, first)
	}
	if ok, _ := c.admit(limitInterface, "if3"); !ok {
		t.Fatal("an admitted name was refused later")
	}
	if ok, _ := c.admit(limitAlert, "if-other-kind"); !ok {
		t.Fatal("kinds share a cap")
	}
	if n := len(c.seen[limitInterface]); n != MaxInterfaces {
		t.Fatalf("%d names remembered, want %d (memory bounded)", n, MaxInterfaces)
	}
}

func TestBelievableClampsFutureTimes(t *testing.T) {
	now := time.Date(2026, 12, 4, 6, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   time.Time
		want time.Time
		ok   bool
	}{
		{now.Add(-time.Hour), now.Add(-time.Hour), true},
		{now.Add(30 * time.Second), now.Add(30 * time.Second), true},
		{now.Add(MaxClockSkew + time.Second), now, false},
		{now.AddDate(10, 0, 0), now, false},
	} {
		got, ok := believable(tc.in, now)
		if !got.Equal(tc.want) || ok != tc.ok {
			t.Errorf("believable(%v) = %v %v, want %v %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}
