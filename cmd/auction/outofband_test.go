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
// losers and the seller each get exactly one notification of the close,
// and each bidder overtaken by another one outbid notice, in the inbox and
// by email (through a real SMTP server); analytics count the auction once.
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
		{p.token(t, "carol@example.com"), "11000"}, // bob outbid
		{dan, "12000"},                           // carol outbid
		{p.token(t, "bob@example.com"), "15000"}, // dan outbid
	} {
		if status, body := bid(t, p, b.token, item, b.amount, "wait=5"); status != http.StatusOK {
			t.Fatalf("bid %s: got %d %s, want 200", b.amount, status, body)
		}
	}

	// Each notice by kind, and what the outbid notice must say.
	want := map[string][]string{"alice@example.com": {"sold"}, "bob@example.com": {"outbid", "won"},
		"carol@example.com": {"lost", "outbid"}, "dan@example.com": {"lost", "outbid"}}
	outbid := map[string]string{
		"bob@example.com":   `Your bid of €100.00 on "Brass telescope" has been outbid: the highest bid is now €110.00.`,
		"carol@example.com": `Your bid of €110.00 on "Brass telescope" has been outbid: the highest bid is now €120.00.`,
		"dan@example.com":   `Your bid of €120.00 on "Brass telescope" has been outbid: the highest bid is now €150.00.`,
	}
	tokens := map[string]string{"alice@example.com": p.token(t, "alice@example.com"), "bob@example.com": p.token(t, "bob@example.com"),
		"carol@example.com": p.token(t, "carol@example.com"), "dan@example.com": dan}
	deadline := time.Now().Add(40 * time.Second)
	for email, kinds := range want {
		for {
			ns := inbox(t, p, tokens[email])
			if len(ns) == len(kinds) {
				var got []string
				for _, n := range ns {
					got = append(got, n.Kind)
					if n.ItemID != item || !strings.Contains(n.Message, "Brass telescope") {
						t.Fatalf("%s's notification: got %+v, want one about %s", email, n, item)
					}
					if n.Kind == "outbid" && n.Message != outbid[email] {
						t.Fatalf("%s's outbid notice: got %q, want %q", email, n.Message, outbid[email])
					}
				}
				if sort.Strings(got); strings.Join(got, ",") != strings.Join(kinds, ",") {
					t.Fatalf("%s's inbox: got %v, want %v", email, got, kinds)
				}
				break
			}
			if len(ns) > len(kinds) || time.Now().After(deadline) {
				t.Fatalf("%s's inbox: got %+v, want exactly %v", email, ns, kinds)
			}
			<-time.After(50 * time.Millisecond)
		}
	}

	// One email per notice, to the right people. The inbox entry is
	// recorded before its email is sent, so some may be on their way.
	wantTo := "alice@example.com,bob@example.com,bob@example.com,carol@example.com,carol@example.com,dan@example.com,dan@example.com"
	for {
		var to []string
		for _, m := range mail.Mails() {
			to = append(to, m.To...)
		}
		sort.Strings(to)
		got := strings.Join(to, ",")
		if got == wantTo {
			break
		}
		if len(got) > len(wantTo) || time.Now().After(deadline) {
			t.Fatalf("emails went to %s, want %s", got, wantTo)
		}
		<-time.After(50 * time.Millisecond)
	}

	// Analytics count the auction once.
	var s struct {
		Completed, Sold, UniqueBidders int
		ByCurrency                     map[string]struct{ Volume, Max int64 }
	}
	// The count first, then the bucket's highest price.
	for {
		if get(t, p.base+"/v1/analytics/categories/optics", &s) == http.StatusOK && s.Completed == 1 && s.ByCurrency["EUR"].Max != 0 {
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
