package userdir

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/auctionflow/auction/internal/dynamotable"
)

// DynamoAPI is the part of the DynamoDB client that Dynamo uses. It is
// declared here, by its consumer, so tests can wrap a real client to inject
// faults and so nobody reaches for calls the adapter does not need.
// *dynamodb.Client satisfies it.
type DynamoAPI interface {
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
}

// TableAPI is the part of the DynamoDB client that EnsureTable uses. It is
// separate from DynamoAPI because serving requests never needs table
// administration, and in production the service's role may not be allowed it.
type TableAPI = dynamotable.TableAPI

// Dynamo is a Directory on one DynamoDB table with a string hash key "pk"
// and two kinds of item:
//
//	pk = "user#<id>"     the user: id, name, email, passwordHash (binary), address (map), createdAt
//	pk = "email#<email>" the claim on a normalized email: userId
//
// Emails are unique because the claim is written with a conditional put, and
// a key can exist once. We do not use TransactWriteItems to write the claim
// and the user together: dynalite, which the tests run against, does not
// implement it. Instead Create writes in two steps:
//
//  1. claim the email: put "email#<email>" if it does not exist, or if it
//     already names this user id (see below);
//  2. put "user#<id>" if it does not exist.
//
// If step 2 fails, Create deletes the claim it made in step 1, so a failed
// registration does not lock the email. That compensation cannot run if the
// process dies between the steps (or the delete itself fails), which leaves a
// claim without a user. This is safe:
//
//   - no two users can ever hold one email: the claim is never taken over by
//     another id, so the worst case is an email that stays reserved;
//   - ByEmail reports a claim whose user is missing as ErrNotFound, so a
//     half-made account cannot be logged into or found;
//   - a retry of Create with the same user (same id, same email) takes its
//     own claim again and finishes the job. Callers choose the id before they
//     call Create, so retrying the same request after an error is the
//     natural recovery. Until then, Create with another id gets
//     ErrDuplicateEmail; an operator can release such an email by deleting
//     its "email#" item, which is harmless because it points at no user.
type Dynamo struct {
	api   DynamoAPI
	table string
}

var _ Directory = (*Dynamo)(nil)

// NewDynamo returns a Directory on table, which must exist with a string
// hash key "pk" (see EnsureTable).
func NewDynamo(api DynamoAPI, table string) *Dynamo {
	return &Dynamo{api: api, table: table}
}

const (
	keyAttr        = "pk"
	userKeyPrefix  = "user#"
	emailKeyPrefix = "email#"

	// releaseTimeout bounds the compensating delete. It runs on a context
	// detached from the caller's, because the likeliest reason the user
	// write failed is that the caller's context ended, and the claim must be
	// released all the same.
	releaseTimeout = 5 * time.Second
)

// Create stores u; its email must be new. A second Create of a user that
// already exists also returns ErrDuplicateEmail, as Memory does. Errors name
// the user id, never the email, so they can be logged.
func (d *Dynamo) Create(ctx context.Context, u User) error {
	u.Email = NormalizeEmail(u.Email)
	fresh, err := d.claimEmail(ctx, u.Email, u.ID)
	if err != nil {
		return fmt.Errorf("claim email for user %s: %w", u.ID, err)
	}
	err = d.putUser(ctx, u)
	if err == nil {
		return nil
	}
	if !fresh {
		// The claim was already ours before this call (a retry), so
		// deleting it would not restore anything; and if the user row
		// exists, the user was created earlier with this email.
		if dynamotable.ConditionFailed(err) {
			return fmt.Errorf("create user %s: %w", u.ID, ErrDuplicateEmail)
		}
		return fmt.Errorf("put user %s: %w", u.ID, err)
	}
	if dynamotable.ConditionFailed(err) {
		// The email was free but the id is not: a different user already
		// has it. Directory has no sentinel for that, and it is not an
		// email conflict, so say what happened.
		err = fmt.Errorf("put user %s: id already in use", u.ID)
	} else {
		err = fmt.Errorf("put user %s: %w", u.ID, err)
	}
	if relErr := d.releaseEmail(ctx, u.Email, u.ID); relErr != nil {
		return errors.Join(err, fmt.Errorf("release email claim of user %s: %w", u.ID, relErr))
	}
	return err
}

// claimEmail reserves email for id. fresh reports whether the claim was made
// by this call rather than left by an earlier attempt with the same id, which
// decides whether a failure afterwards should release it.
func (d *Dynamo) claimEmail(ctx context.Context, email, id string) (fresh bool, err error) {
	out, err := d.api.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(d.table),
		Item: map[string]types.AttributeValue{
			keyAttr:  dynamotable.S(emailKeyPrefix + email),
			"userId": dynamotable.S(id),
		},
		ConditionExpression:       aws.String("attribute_not_exists(pk) OR userId = :id"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":id": dynamotable.S(id)},
		ReturnValues:              types.ReturnValueAllOld,
	})
	if dynamotable.ConditionFailed(err) {
		return false, ErrDuplicateEmail
	}
	if err != nil {
		return false, err
	}
	return len(out.Attributes) == 0, nil
}

func (d *Dynamo) putUser(ctx context.Context, u User) error {
	_, err := d.api.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:           aws.String(d.table),
		Item:                encodeUser(u),
		ConditionExpression: aws.String("attribute_not_exists(pk)"),
	})
	return err
}

// releaseEmail deletes the claim on email if id still holds it.
func (d *Dynamo) releaseEmail(ctx context.Context, email, id string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
	defer cancel()
	_, err := d.api.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                 aws.String(d.table),
		Key:                       map[string]types.AttributeValue{keyAttr: dynamotable.S(emailKeyPrefix + email)},
		ConditionExpression:       aws.String("userId = :id"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":id": dynamotable.S(id)},
	})
	if dynamotable.ConditionFailed(err) {
		return nil // gone already, or not ours: nothing of ours to release
	}
	return err
}

// Get returns the user with id.
func (d *Dynamo) Get(ctx context.Context, id string) (User, error) {
	u, err := d.load(ctx, id)
	if err != nil {
		return User{}, fmt.Errorf("get user %s: %w", id, err)
	}
	return u, nil
}

// ByEmail returns the user registered with email. A claim whose user is
// missing (see the crash window on Dynamo) is not a registration.
func (d *Dynamo) ByEmail(ctx context.Context, email string) (User, error) {
	email = NormalizeEmail(email)
	out, err := d.api.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(d.table),
		Key:            map[string]types.AttributeValue{keyAttr: dynamotable.S(emailKeyPrefix + email)},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return User{}, fmt.Errorf("user by email: %w", err)
	}
	if out.Item == nil {
		return User{}, fmt.Errorf("user by email: %w", ErrNotFound)
	}
	id, err := dynamotable.Str(out.Item, "userId")
	if err != nil {
		return User{}, fmt.Errorf("user by email: decode claim: %w", err)
	}
	u, err := d.load(ctx, id)
	if err != nil {
		return User{}, fmt.Errorf("user by email: user %s: %w", id, err)
	}
	if u.Email != email {
		// A leftover claim whose id was since taken by a user with another
		// email. The claim does not make this user the owner of email.
		return User{}, fmt.Errorf("user by email: %w", ErrNotFound)
	}
	return u, nil
}

// load reads the user row. Reads are strongly consistent because a client
// typically registers and then immediately logs in.
func (d *Dynamo) load(ctx context.Context, id string) (User, error) {
	out, err := d.api.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(d.table),
		Key:            map[string]types.AttributeValue{keyAttr: dynamotable.S(userKeyPrefix + id)},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return User{}, err
	}
	if out.Item == nil {
		return User{}, ErrNotFound
	}
	u, err := decodeUser(out.Item)
	if err != nil {
		return User{}, fmt.Errorf("decode: %w", err)
	}
	return u, nil
}

// encodeUser writes CreatedAt as RFC 3339 in UTC with nanoseconds: it sorts
// as text, reads well in the console, and loses nothing but the zone.
func encodeUser(u User) map[string]types.AttributeValue {
	item := map[string]types.AttributeValue{
		keyAttr: dynamotable.S(userKeyPrefix + u.ID),
		"id":    dynamotable.S(u.ID),
		"name":  dynamotable.S(u.Name),
		"email": dynamotable.S(u.Email),
		"address": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
			"line1":    dynamotable.S(u.Address.Line1),
			"city":     dynamotable.S(u.Address.City),
			"postcode": dynamotable.S(u.Address.Postcode),
			"country":  dynamotable.S(u.Address.Country),
		}},
		"createdAt": dynamotable.S(u.CreatedAt.UTC().Format(time.RFC3339Nano)),
	}
	// The SDK sends a nil []byte as an attribute with no type, which
	// DynamoDB rejects; no hash is stored as no attribute.
	if len(u.PasswordHash) > 0 {
		item["passwordHash"] = &types.AttributeValueMemberB{Value: u.PasswordHash}
	}
	return item
}

func decodeUser(item map[string]types.AttributeValue) (User, error) {
	var (
		u    User
		errs []error
		get  = func(m map[string]types.AttributeValue, name string) string {
			v, err := dynamotable.Str(m, name)
			errs = append(errs, err)
			return v
		}
	)
	u.ID = get(item, "id")
	u.Name = get(item, "name")
	u.Email = get(item, "email")
	switch v := item["passwordHash"].(type) {
	case *types.AttributeValueMemberB:
		u.PasswordHash = v.Value
	case nil:
	default:
		errs = append(errs, fmt.Errorf("attribute passwordHash: got %T, want binary", v))
	}
	switch v := item["address"].(type) {
	case *types.AttributeValueMemberM:
		u.Address = Address{
			Line1:    get(v.Value, "line1"),
			City:     get(v.Value, "city"),
			Postcode: get(v.Value, "postcode"),
			Country:  get(v.Value, "country"),
		}
	case nil:
	default:
		errs = append(errs, fmt.Errorf("attribute address: got %T, want map", v))
	}
	if created := get(item, "createdAt"); created != "" {
		t, err := time.Parse(time.RFC3339Nano, created)
		errs = append(errs, err)
		u.CreatedAt = t
	}
	return u, errors.Join(errs...)
}

// EnsureTable creates table for Dynamo if it does not exist (hash key "pk" of
// type string, on-demand capacity) and waits until it is ACTIVE. It describes
// before it creates, so a service whose role may only describe tables can
// still call it against a table made by infrastructure code. A table with
// another key schema is an error.
func EnsureTable(ctx context.Context, api TableAPI, table string) error {
	return dynamotable.Ensure(ctx, api, table, dynamotable.Key{Hash: keyAttr})
}
