// Package placeitem is the validate-item edge function: it checks a seller's
// new item against the contract and the business rules, enriches it with the
// seller's profile from the user directory, stamps ids and the event time,
// and writes an item-placed event to auction.items. A refused item is written
// to auction.rejected with every reason, and the caller gets the reasons.
//
// "In band but edge": stateless work, done before anything is in the log.
package placeitem

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/auctionflow/auction/functions/edge"
	"github.com/auctionflow/auction/functions/faas"
	"github.com/auctionflow/auction/internal/userdir"
	"github.com/auctionflow/auction/schemas"
)

// Request is a seller's new item. SellerID comes from the caller's token.
// ItemID is set by the caller when the item must keep its id across retries
// (see IdempotentID); otherwise a new one is made.
type Request struct {
	ItemID          string
	SellerID        string
	Title           string
	Description     string
	Category        string
	Currency        string
	StartingPrice   int64
	ReservePrice    *int64
	EndsAt          *time.Time
	DurationSeconds int64
	// SoftClose, if set, lets late bids extend the auction; a zero
	// MaxExtensionSeconds is schemas.DefaultSoftCloseExtension.
	SoftClose *schemas.SoftClose `json:",omitempty"`
}

// Result is the item's id when it was accepted, or every reason it was not.
type Result struct {
	ItemID  string
	EndsAt  time.Time
	Reasons []schemas.FieldError
}

// Accepted reports whether the item was written to auction.items.
func (r Result) Accepted() bool { return len(r.Reasons) == 0 }

// Users is the part of the user directory this function reads.
type Users interface {
	Get(ctx context.Context, id string) (userdir.User, error)
}

// Publisher writes events and returns once the log acknowledged them.
type Publisher = edge.Publisher

// source is the CloudEvents source of the events this function writes.
const source = schemas.Source + "/functions/placeitem"

// Deps are what the function needs.
type Deps struct {
	Users     Users
	Publisher Publisher
	Now       func() time.Time
}

// Init returns the function's initialiser for the faas runtime.
func Init(d Deps) faas.Init[Request, Result] {
	return func(context.Context) (faas.Func[Request, Result], error) {
		w, err := edge.NewWriter(source, d.Publisher)
		if err != nil {
			return nil, err
		}
		if d.Now == nil {
			d.Now = time.Now
		}
		fn := &function{Deps: d, events: w}
		return fn.handle, nil
	}
}

type function struct {
	Deps
	events *edge.Writer
}

func (f *function) handle(ctx context.Context, req Request) (Result, error) {
	now := f.Now().UTC()
	reasons := Validate(req, now)
	seller, err := f.Users.Get(ctx, req.SellerID)
	switch {
	case errors.Is(err, userdir.ErrNotFound):
		reasons = append(reasons, schemas.FieldError{Field: "/sellerId", Code: "unknown_user", Message: "the seller is not a registered user"})
	case err != nil:
		return Result{}, fmt.Errorf("look up seller %s: %w", req.SellerID, err)
	}
	if len(reasons) > 0 {
		rej := schemas.EventRejected{Kind: "item", UserID: req.SellerID, Reasons: reasons}
		if err := f.events.Reject(ctx, "", rej, now); err != nil {
			return Result{}, fmt.Errorf("record rejected item: %w", err)
		}
		return Result{Reasons: reasons}, nil
	}

	id := req.ItemID
	if id == "" {
		id = uuid.Must(uuid.NewV7()).String()
	}
	item := Enrich(req, seller, now, id)
	meta := schemas.Meta{ID: item.ItemID, Subject: item.ItemID, Time: now}
	if err := f.events.Write(ctx, schemas.TopicItems, schemas.TypeItemPlaced, meta, item); err != nil {
		return Result{}, err
	}
	return Result{ItemID: item.ItemID, EndsAt: item.EndsAt}, nil
}

// idNamespace scopes idempotent item ids (a fixed, random UUID).
var idNamespace = uuid.MustParse("3f0b9c7e-5d21-4a86-b4c2-8e6a1f09d7b3")

// IdempotentID is the item id for a request sent with an Idempotency-Key:
// the same for a retry of the request, so a rerun places the item the
// processor already has (it applies an item once), and another for any
// other item sent under the same key.
func IdempotentID(key string, req Request) string {
	req.ItemID = ""
	body, err := json.Marshal(req)
	if err != nil {
		panic("placeitem: unencodable request: " + err.Error())
	}
	name := fmt.Sprintf("%d:%s|%s", len(key), key, body)
	return uuid.NewSHA1(idNamespace, []byte(name)).String()
}

// Validate applies the business rules to req and returns every violation.
func Validate(req Request, now time.Time) []schemas.FieldError {
	var errs []schemas.FieldError
	add := func(field, code, msg string) {
		errs = append(errs, schemas.FieldError{Field: field, Code: code, Message: msg})
	}
	if n := utf8.RuneCountInString(strings.TrimSpace(req.Title)); n < 1 || n > schemas.MaxTitleLength {
		add("/title", "length", fmt.Sprintf("title must be 1 to %d characters", schemas.MaxTitleLength))
	}
	if utf8.RuneCountInString(req.Description) > schemas.MaxDescriptionLength {
		add("/description", "length", fmt.Sprintf("description must be at most %d characters", schemas.MaxDescriptionLength))
	}
	for _, f := range []struct{ field, text string }{{"/title", req.Title}, {"/description", req.Description}} {
		if r, bad := schemas.TextFault(f.text); bad {
			add(f.field, "text", fmt.Sprintf("%s must not hold the control character %U", f.field[1:], r))
		}
	}
	if !schemas.ValidCategory(req.Category) {
		add("/category", "pattern", fmt.Sprintf("category must be 1 to %d lowercase letters, digits or '-'", schemas.MaxCategoryLength))
	}
	if !schemas.KnownCurrency(req.Currency) {
		add("/currency", "currency", fmt.Sprintf("unknown currency %q (ISO 4217 code expected)", req.Currency))
	}
	switch {
	case req.StartingPrice <= 0:
		add("/startingPrice", "minimum", "startingPrice must be a positive amount in minor units")
	case req.StartingPrice > schemas.MaxAmount:
		add("/startingPrice", "maximum", fmt.Sprintf("startingPrice must be at most %d", schemas.MaxAmount))
	}
	switch {
	case req.ReservePrice == nil:
	case *req.ReservePrice < req.StartingPrice:
		add("/reservePrice", "minimum", "reservePrice must not be below startingPrice")
	case *req.ReservePrice > schemas.MaxAmount:
		add("/reservePrice", "maximum", fmt.Sprintf("reservePrice must be at most %d", schemas.MaxAmount))
	}
	switch {
	case req.EndsAt != nil && req.DurationSeconds != 0:
		add("/endsAt", "exclusive", "give endsAt or durationSeconds, not both")
	case req.EndsAt == nil && req.DurationSeconds == 0:
		add("/endsAt", "required", "give endsAt or durationSeconds")
	default:
		d := time.Duration(req.DurationSeconds) * time.Second
		if d/time.Second != time.Duration(req.DurationSeconds) {
			d = schemas.MaxDuration + 1 // the multiplication overflowed: far out of range
		}
		if req.EndsAt != nil {
			d = req.EndsAt.Sub(now)
		}
		if d < schemas.MinDuration || d > schemas.MaxDuration {
			field := "/durationSeconds"
			if req.EndsAt != nil {
				field = "/endsAt"
			}
			add(field, "range", fmt.Sprintf("the auction must end between %s and %s from now", schemas.MinDuration, schemas.MaxDuration))
		}
	}
	if sc := req.SoftClose; sc != nil {
		if msg := schemas.SoftCloseFault(softClose(*sc)); msg != "" {
			add("/softClose", "range", msg)
		}
	}
	return errs
}

// softClose is sc with the default cap if it names none.
func softClose(sc schemas.SoftClose) schemas.SoftClose {
	if sc.MaxExtensionSeconds == 0 {
		sc.MaxExtensionSeconds = int(schemas.DefaultSoftCloseExtension / time.Second)
	}
	return sc
}

// Enrich builds the item-placed event data from a valid request.
func Enrich(req Request, seller userdir.User, now time.Time, itemID string) schemas.ItemPlaced {
	endsAt := now.Add(time.Duration(req.DurationSeconds) * time.Second)
	if req.EndsAt != nil {
		endsAt = req.EndsAt.UTC()
	}
	item := schemas.ItemPlaced{
		ItemID:        itemID,
		Seller:        schemas.Party{ID: seller.ID, Name: seller.Name, Location: seller.Location()},
		Title:         strings.TrimSpace(req.Title),
		Description:   req.Description,
		Category:      req.Category,
		StartingPrice: schemas.Money{Amount: req.StartingPrice, Currency: req.Currency},
		MinIncrement:  schemas.Money{Amount: schemas.MinIncrement(req.StartingPrice), Currency: req.Currency},
		EndsAt:        endsAt,
		PlacedAt:      now,
	}
	if req.ReservePrice != nil {
		item.ReservePrice = &schemas.Money{Amount: *req.ReservePrice, Currency: req.Currency}
	}
	if req.SoftClose != nil {
		sc := softClose(*req.SoftClose)
		item.SoftClose = &sc
	}
	return item
}
