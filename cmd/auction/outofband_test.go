package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/auctionflow/auction/functions/notify/notifytest"
)

// TestOutOfBand: an auction with three bidders closes; the winner, the two
// losers and the seller each get exactly one notification, in the inbox and
// by email (through a real SMTP server), and analytics count it once.
func TestOutOfBand(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a 10 s auction")
	}
	mail := notifytest.StartMailServer(t, notifytest.MailServerOptions{})
	p := startPlatform(t, map[string]string{"AUCTION_CLOSE_GRACE": "300ms", "AUCTION_SMTP_ADDR": mail.Addr})
	dan := register(t, p, "Dan Dale", "dan@example.com")

	item := placeItem(t, p, p.token(t, "alice@example.com"),
		`{"title":"Brass telescope","category":"optics","currency":"EUR","startingPrice":10000,"durationSeconds":10}`)
	for _, b := range []struct{ token, amount string }{
		{p.token(t, "bob@example.com"), "10000"},
		{p.token(t, "carol@example.com"), "11000"},
		{dan, "12000"},
		{p.token(t, "bob@example.com"), "15000"},
	} {
		if status, body := bid(t, p, b.token, item, b.amount, "wait=5"); status != http.StatusOK {
			t.Fatalf("bid %s: got %d %s, want 200", b.amount, status, body)
		}
	}

	want := map[string]string{"alice@example.com": "sold", "bob@example.com": "won", "carol@example.com": "lost", "dan@example.com": "lost"}
	tokens := map[string]string{"alice@example.com": p.token(t, "alice@example.com"), "bob@example.com": p.token(t, "bob@example.com"),
		"carol@example.com": p.token(t, "carol@example.com"), "dan@example.com": dan}
	deadline := time.Now().Add(40 * time.Second)
	for email, kind := range want {
		for {
			ns := inbox(t, p, tokens[email])
			if len(ns) == 1 {
				if ns[0].Kind != kind || ns[0].ItemID != item || !strings.Contains(ns[0].Message, "Brass telescope") {
					t.Fatalf("%s's notification: got %+v, want %q about %s", email, ns[0], kind, item)
				}
				break
			}
			if len(ns) > 1 || time.Now().After(deadline) {
				t.Fatalf("%s's inbox: got %+v, want exactly one %q", email, ns, kind)
			}
			<-time.After(50 * time.Millisecond)
		}
	}

	// One email each, to the right people.
	var to []string
	for _, m := range mail.Mails() {
		to = append(to, m.To...)
	}
	sort.Strings(to)
	if got := strings.Join(to, ","); got != "alice@example.com,bob@example.com,carol@example.com,dan@example.com" {
		t.Fatalf("emails went to %s, want one each to alice, bob, carol and dan", got)
	}

	// Analytics count the auction once.
	var s struct {
		Completed, Sold, UniqueBidders int
		ByCurrency                     map[string]struct{ Volume, Max int64 }
	}
	for {
		if get(t, p.base+"/v1/analytics/categories/optics", &s) == http.StatusOK && s.Completed == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("analytics for optics: got %+v, want one completed auction", s)
		}
		<-time.After(50 * time.Millisecond)
	}
	if s.Sold != 1 || s.UniqueBidders != 3 || s.ByCurrency["EUR"].Volume != 15000 || s.ByCurrency["EUR"].Max != 15000 {
		t.Fatalf("analytics for optics: got %+v, want 1 sold for 15000 EUR to 3 unique bidders", s)
	}
	var who struct{ Bidders []string }
	if code := get(t, p.base+"/v1/analytics/categories/optics/bidders", &who); code != http.StatusOK ||
		fmt.Sprint(who.Bidders) != fmt.Sprint(sortedCopy([]string{"u-bob", "u-carol", userID(t, p, dan)})) {
		t.Fatalf("bidders of optics: got %d %v, want bob, carol and dan", code, who.Bidders)
	}
}

type notification struct{ ID, Kind, ItemID, Message string }

func inbox(t *testing.T, p *testPlatform, token string) []notification {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, p.base+"/v1/me/notifications", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var out struct{ Notifications []notification }
	decode(t, resp, &out)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /v1/me/notifications: got %d, want 200", resp.StatusCode)
	}
	return out.Notifications
}

// register creates a user over HTTP and returns a token for them.
func register(t *testing.T, p *testPlatform, name, email string) string {
	t.Helper()
	body := fmt.Sprintf(`{"name":%q,"email":%q,"password":"secret-password","address":{"line1":"1 Way","city":"Leeds","postcode":"LS1","country":"GB"}}`, name, email)
	resp, err := http.Post(p.base+"/v1/users", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("register %s: got %d, want 201", email, resp.StatusCode)
	}
	resp, err = http.Post(p.base+"/v1/auth/token", "application/json", strings.NewReader(fmt.Sprintf(`{"email":%q,"password":"secret-password"}`, email)))
	if err != nil {
		t.Fatal(err)
	}
	var tok struct{ AccessToken string }
	decode(t, resp, &tok)
	return tok.AccessToken
}

// userID reads the subject of a token (the platform's user id).
func userID(t *testing.T, p *testPlatform, token string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q is not a JWT", token)
	}
	var claims struct{ Sub string }
	b, err := decodeSegment(parts[1])
	if err != nil || json.Unmarshal(b, &claims) != nil {
		t.Fatalf("token payload: %v", err)
	}
	return claims.Sub
}

func sortedCopy(s []string) []string {
	c := append([]string(nil), s...)
	sort.Strings(c)
	return c
}

func decodeSegment(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }
