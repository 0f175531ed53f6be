// Package dynamostore is the store over Amazon DynamoDB. Importing it
// registers the "dynamodb" scheme (SIYU_STORE=dynamodb:TABLE). The client is
// configured the SDK's standard way (config.LoadDefaultConfig), so
// AWS_ENDPOINT_URL_DYNAMODB points it at dynalite or DynamoDB Local.
//
// Attributes: pk (S), sk (S), d (B, absent when empty), n (N), v (N),
// exp_ms (N, unix milliseconds, absent for never) for exact expiry in code,
// and ttl (N, unix seconds, absent for never) for DynamoDB's own TTL, which
// deletes expired items eventually (within days) and for free.
package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/siyuhq/siyu/shared/store"
)

func init() {
	store.Register("dynamodb", func(ctx context.Context, table string, opts ...store.Option) (store.Store, error) {
		return Open(ctx, table, opts...)
	})
}

// Store is the port over one DynamoDB table.
type Store struct {
	c     *dynamodb.Client
	table string
	now   func() time.Time
	// ConsistentRead makes Get and Query strongly consistent, as the SQL
	// adapters are. Turning it off halves read capacity and may return data
	// a few hundred milliseconds old.
	ConsistentRead bool
}

var _ store.Store = (*Store)(nil)

// New returns a store over table through c.
func New(c *dynamodb.Client, table string, opts ...store.Option) *Store {
	return &Store{c: c, table: table, now: store.NewOptions(opts...).Now, ConsistentRead: true}
}

// Open builds a client from the default AWS configuration (environment,
// shared files, the Lambda role) and returns a store over table.
func Open(ctx context.Context, table string, opts ...store.Option) (*Store, error) {
	if table == "" {
		return nil, errors.New("dynamodb: no table name")
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("dynamodb: load AWS config: %w", err)
	}
	return New(dynamodb.NewFromConfig(cfg), table, opts...), nil
}

// Close does nothing: the client holds no resources that need releasing.
func (s *Store) Close() error { return nil }

// CreateTable creates an on-demand table with the store's key schema, for
// tests and local stacks, and waits until it is active. An existing table is
// not an error. (In AWS the table, with TTL on "ttl", comes from the
// deployment template.)
func CreateTable(ctx context.Context, c *dynamodb.Client, name string) error {
	_, err := c.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:   aws.String(name),
		BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String(attrPK), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(attrSK), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(attrPK), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(attrSK), KeyType: types.KeyTypeRange},
		},
	})
	var inUse *types.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) {
		return fmt.Errorf("dynamodb: create table %s: %w", name, err)
	}
	w := dynamodb.NewTableExistsWaiter(c, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay, o.MaxDelay = 200*time.Millisecond, 5*time.Second
	})
	if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, 2*time.Minute); err != nil {
		return fmt.Errorf("dynamodb: wait for table %s: %w", name, err)
	}
	return nil
}

const (
	attrPK  = "pk"
	attrSK  = "sk"
	attrD   = "d"
	attrN   = "n"
	attrV   = "v"
	attrTTL = "ttl"
	attrExp = "exp_ms"
)

// names maps expression placeholders to attributes; some (ttl) are reserved
// words.
var names = map[string]string{
	"#pk": attrPK, "#sk": attrSK, "#d": attrD, "#n": attrN, "#v": attrV, "#ttl": attrTTL, "#exp": attrExp,
}

func namesFor(keys ...string) map[string]string {
	m := make(map[string]string, len(keys))
	for _, k := range keys {
		m[k] = names[k]
	}
	return m
}

// Conditions. An item is live when it has no exp_ms or exp_ms > now.
const (
	condLiveOrAbsent = "attribute_not_exists(#pk) OR attribute_not_exists(#exp) OR #exp > :now"
	condAbsent       = "attribute_not_exists(#pk) OR #exp <= :now"
	condExpired      = "#exp <= :now"
	condVersion      = "#v = :v AND (attribute_not_exists(#exp) OR #exp > :now)"
)

func num(i int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(i, 10)}
}
func str(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }

// expiryMillis is exp_ms: unix milliseconds, 0 for never; a time at or
// before the epoch is kept as 1 so it cannot turn into never.
func expiryMillis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return max(t.UnixMilli(), 1)
}

// ttlSeconds rounds up, so DynamoDB never deletes an item before it expires.
func ttlSeconds(ms int64) int64 { return (ms + 999) / 1000 }

func checkKey(pk, sk string) error {
	if err := store.CheckKey(pk, sk); err != nil {
		return err
	}
	if !utf8.ValidString(pk) || !utf8.ValidString(sk) {
		return errors.New("dynamodb: keys must be valid UTF-8")
	}
	return nil
}

func key(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{attrPK: str(pk), attrSK: str(sk)}
}

// fullItem is the whole stored item for a PutItem.
func fullItem(pk, sk string, data []byte, n, v, expMs int64) map[string]types.AttributeValue {
	m := key(pk, sk)
	if len(data) > 0 {
		m[attrD] = &types.AttributeValueMemberB{Value: data}
	}
	m[attrN] = num(n)
	m[attrV] = num(v)
	if expMs != 0 {
		m[attrExp] = num(expMs)
		m[attrTTL] = num(ttlSeconds(expMs))
	}
	return m
}

func decode(m map[string]types.AttributeValue) (store.Item, error) {
	var it store.Item
	var err error
	getS := func(name string) string {
		if v, ok := m[name].(*types.AttributeValueMemberS); ok {
			return v.Value
		}
		err = errors.Join(err, fmt.Errorf("attribute %s is not a string", name))
		return ""
	}
	getN := func(name string) int64 {
		av, ok := m[name]
		if !ok {
			return 0
		}
		v, ok := av.(*types.AttributeValueMemberN)
		if !ok {
			err = errors.Join(err, fmt.Errorf("attribute %s is not a number", name))
			return 0
		}
		i, perr := strconv.ParseInt(v.Value, 10, 64)
		err = errors.Join(err, perr)
		return i
	}
	it.PK, it.SK = getS(attrPK), getS(attrSK)
	if d, ok := m[attrD].(*types.AttributeValueMemberB); ok && len(d.Value) > 0 {
		it.Data = d.Value
	}
	it.N, it.Version = getN(attrN), getN(attrV)
	if exp := getN(attrExp); exp != 0 {
		it.ExpiresAt = time.UnixMilli(exp)
	}
	if err != nil {
		return store.Item{}, fmt.Errorf("dynamodb: item %s/%s: %w", it.PK, it.SK, err)
	}
	return it, nil
}

func conditionFailed(err error) bool {
	var e *types.ConditionalCheckFailedException
	return errors.As(err, &e)
}

func (s *Store) nowMs() int64 { return s.now().UnixMilli() }

// Get returns the live item at pk/sk.
func (s *Store) Get(ctx context.Context, pk, sk string) (store.Item, error) {
	if !utf8.ValidString(pk) || !utf8.ValidString(sk) {
		return store.Item{}, store.ErrNotFound
	}
	out, err := s.c.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      &s.table,
		Key:            key(pk, sk),
		ConsistentRead: aws.Bool(s.ConsistentRead),
	})
	if err != nil {
		return store.Item{}, fmt.Errorf("dynamodb: get %s/%s: %w", pk, sk, err)
	}
	if len(out.Item) == 0 {
		return store.Item{}, store.ErrNotFound
	}
	it, err := decode(out.Item)
	if err != nil {
		return store.Item{}, err
	}
	if !it.Live(time.UnixMilli(s.nowMs())) {
		return store.Item{}, store.ErrNotFound
	}
	return it, nil
}

// writeAttempts bounds the loop between the update of a live item and the
// replacement of an expired one, which only repeats when other writers keep
// reviving and expiring the same key.
const writeAttempts = 5

// Put writes it under cond.
func (s *Store) Put(ctx context.Context, it store.Item, cond store.Cond) (store.Item, error) {
	if err := checkKey(it.PK, it.SK); err != nil {
		return store.Item{}, err
	}
	exp := expiryMillis(it.ExpiresAt)
	out := store.Item{PK: it.PK, SK: it.SK, N: it.N, ExpiresAt: it.ExpiresAt.Truncate(time.Millisecond)}
	if len(it.Data) > 0 {
		out.Data = it.Data
	}
	if exp != 0 {
		out.ExpiresAt = time.UnixMilli(exp)
	}
	var err error
	switch {
	case cond.IsAbsent():
		out.Version = 1
		err = s.putItem(ctx, fullItem(it.PK, it.SK, it.Data, it.N, 1, exp), condAbsent, nil)
	case cond.IsVersion():
		out.Version = cond.Version() + 1
		err = s.putItem(ctx, fullItem(it.PK, it.SK, it.Data, it.N, out.Version, exp), condVersion,
			map[string]types.AttributeValue{":v": num(cond.Version())})
	default:
		out.Version, err = s.putAlways(ctx, it, exp)
	}
	if errors.Is(err, store.ErrConditionFailed) {
		return store.Item{}, err
	}
	if err != nil {
		return store.Item{}, fmt.Errorf("dynamodb: put %s/%s (%s): %w", it.PK, it.SK, cond, err)
	}
	return out, nil
}

// putItem writes a whole item under a condition that may use :now.
func (s *Store) putItem(ctx context.Context, item map[string]types.AttributeValue, cond string, values map[string]types.AttributeValue) error {
	vals := map[string]types.AttributeValue{":now": num(s.nowMs())}
	for k, v := range values {
		vals[k] = v
	}
	_, err := s.c.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 &s.table,
		Item:                      item,
		ConditionExpression:       aws.String(cond),
		ExpressionAttributeNames:  condNames(cond),
		ExpressionAttributeValues: vals,
	})
	if conditionFailed(err) {
		return store.ErrConditionFailed
	}
	return err
}

func condNames(cond string) map[string]string {
	switch cond {
	case condAbsent:
		return namesFor("#pk", "#exp")
	case condExpired:
		return namesFor("#exp")
	default:
		return namesFor("#v", "#exp")
	}
}

// putAlways updates a live (or missing) item, bumping its version; an
// expired item is replaced by a new one at version 1.
func (s *Store) putAlways(ctx context.Context, it store.Item, exp int64) (int64, error) {
	set := "SET #n = :n, #v = if_not_exists(#v, :zero) + :one"
	var remove []string
	vals := map[string]types.AttributeValue{":n": num(it.N), ":zero": num(0), ":one": num(1)}
	if len(it.Data) > 0 {
		set += ", #d = :d"
		vals[":d"] = &types.AttributeValueMemberB{Value: it.Data}
	} else {
		remove = append(remove, "#d")
	}
	if exp != 0 {
		set += ", #exp = :exp, #ttl = :ttl"
		vals[":exp"], vals[":ttl"] = num(exp), num(ttlSeconds(exp))
	} else {
		remove = append(remove, "#exp", "#ttl")
	}
	update := set
	if len(remove) > 0 {
		update += " REMOVE " + strings.Join(remove, ", ")
	}
	for range writeAttempts {
		v, err := s.updateLive(ctx, it.PK, it.SK, update, vals, attrV)
		if !errors.Is(err, store.ErrConditionFailed) {
			return v, err
		}
		err = s.putItem(ctx, fullItem(it.PK, it.SK, it.Data, it.N, 1, exp), condExpired, nil)
		if !errors.Is(err, store.ErrConditionFailed) {
			return 1, err
		}
	}
	return 0, fmt.Errorf("key kept expiring and reviving for %d attempts", writeAttempts)
}

// updateLive runs an update on a live or missing item and returns the new
// value of attribute ret; store.ErrConditionFailed means the item is expired.
func (s *Store) updateLive(ctx context.Context, pk, sk, update string, values map[string]types.AttributeValue, ret string) (int64, error) {
	vals := map[string]types.AttributeValue{":now": num(s.nowMs())}
	for k, v := range values {
		vals[k] = v
	}
	used := namesFor("#pk", "#exp", "#n", "#v")
	for _, k := range []string{"#d", "#ttl"} {
		if strings.Contains(update, k) {
			used[k] = names[k]
		}
	}
	out, err := s.c.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &s.table,
		Key:                       key(pk, sk),
		UpdateExpression:          aws.String(update),
		ConditionExpression:       aws.String(condLiveOrAbsent),
		ExpressionAttributeNames:  used,
		ExpressionAttributeValues: vals,
		ReturnValues:              types.ReturnValueUpdatedNew,
	})
	if conditionFailed(err) {
		return 0, store.ErrConditionFailed
	}
	if err != nil {
		return 0, err
	}
	v, ok := out.Attributes[ret].(*types.AttributeValueMemberN)
	if !ok {
		return 0, fmt.Errorf("update returned no %s", ret)
	}
	return strconv.ParseInt(v.Value, 10, 64)
}

// Incr adds delta to the counter at pk/sk; an expired item restarts from 0.
func (s *Store) Incr(ctx context.Context, pk, sk string, delta int64, expiresAt time.Time) (int64, error) {
	if err := checkKey(pk, sk); err != nil {
		return 0, err
	}
	exp := expiryMillis(expiresAt)
	update := "SET #n = if_not_exists(#n, :zero) + :delta, #v = if_not_exists(#v, :zero) + :one"
	vals := map[string]types.AttributeValue{":delta": num(delta), ":zero": num(0), ":one": num(1)}
	if exp != 0 {
		update += ", #exp = :exp, #ttl = :ttl"
		vals[":exp"], vals[":ttl"] = num(exp), num(ttlSeconds(exp))
	}
	for range writeAttempts {
		n, err := s.updateLive(ctx, pk, sk, update, vals, attrN)
		if !errors.Is(err, store.ErrConditionFailed) {
			if err != nil {
				return 0, fmt.Errorf("dynamodb: incr %s/%s: %w", pk, sk, err)
			}
			return n, nil
		}
		err = s.putItem(ctx, fullItem(pk, sk, nil, delta, 1, exp), condExpired, nil)
		if err == nil {
			return delta, nil
		}
		if !errors.Is(err, store.ErrConditionFailed) {
			return 0, fmt.Errorf("dynamodb: incr %s/%s over an expired item: %w", pk, sk, err)
		}
	}
	return 0, fmt.Errorf("dynamodb: incr %s/%s: key kept expiring and reviving for %d attempts", pk, sk, writeAttempts)
}

// Delete removes the item at pk/sk under cond (Always or IfVersion).
func (s *Store) Delete(ctx context.Context, pk, sk string, cond store.Cond) error {
	if err := checkKey(pk, sk); err != nil {
		return err
	}
	in := &dynamodb.DeleteItemInput{TableName: &s.table, Key: key(pk, sk)}
	switch {
	case cond.IsAbsent():
		return fmt.Errorf("dynamodb: delete %s/%s: %s makes no sense for a delete", pk, sk, cond)
	case cond.IsVersion():
		in.ConditionExpression = aws.String(condVersion)
		in.ExpressionAttributeNames = namesFor("#v", "#exp")
		in.ExpressionAttributeValues = map[string]types.AttributeValue{":v": num(cond.Version()), ":now": num(s.nowMs())}
	}
	_, err := s.c.DeleteItem(ctx, in)
	if conditionFailed(err) {
		return store.ErrConditionFailed
	}
	if err != nil {
		return fmt.Errorf("dynamodb: delete %s/%s (%s): %w", pk, sk, cond, err)
	}
	return nil
}

// Query reads one page of a partition. It asks for one item more than the
// page so that Next is empty on the last page; expired items are dropped
// after reading, so a page may be short while Next is set.
func (s *Store) Query(ctx context.Context, q store.Query) (store.Page, error) {
	if err := q.Validate(); err != nil {
		return store.Page{}, err
	}
	if !utf8.ValidString(q.PK) || !utf8.ValidString(q.Prefix) || !utf8.ValidString(q.From) || !utf8.ValidString(q.To) {
		return store.Page{}, errors.New("dynamodb: query keys must be valid UTF-8")
	}
	limit := q.PageSize()
	cond := "#pk = :pk"
	keyNames := namesFor("#pk")
	vals := map[string]types.AttributeValue{":pk": str(q.PK)}
	switch {
	case q.Prefix != "":
		cond += " AND begins_with(#sk, :p)"
		vals[":p"] = str(q.Prefix)
	case q.From != "" && q.To != "":
		cond += " AND #sk BETWEEN :from AND :to"
		vals[":from"], vals[":to"] = str(q.From), str(q.To)
	case q.From != "":
		cond += " AND #sk >= :from"
		vals[":from"] = str(q.From)
	case q.To != "":
		cond += " AND #sk <= :to"
		vals[":to"] = str(q.To)
	}
	if len(vals) > 1 {
		keyNames["#sk"] = attrSK
	}
	in := &dynamodb.QueryInput{
		TableName:                 &s.table,
		KeyConditionExpression:    aws.String(cond),
		ExpressionAttributeNames:  keyNames,
		ExpressionAttributeValues: vals,
		ScanIndexForward:          aws.Bool(!q.Desc),
		Limit:                     aws.Int32(int32(limit + 1)),
		ConsistentRead:            aws.Bool(s.ConsistentRead),
	}
	if q.Cursor != "" {
		after, err := decodeCursor(q.Cursor)
		if err != nil {
			return store.Page{}, err
		}
		in.ExclusiveStartKey = key(q.PK, after)
	}
	out, err := s.c.Query(ctx, in)
	if err != nil {
		return store.Page{}, fmt.Errorf("dynamodb: query %s: %w", q.PK, err)
	}
	raw := out.Items
	var page store.Page
	switch {
	case len(raw) > limit:
		raw = raw[:limit]
		sk, _ := raw[limit-1][attrSK].(*types.AttributeValueMemberS)
		if sk == nil {
			return store.Page{}, fmt.Errorf("dynamodb: query %s: item without sk", q.PK)
		}
		page.Next = encodeCursor(sk.Value)
	case len(out.LastEvaluatedKey) > 0:
		// DynamoDB stopped early (1 MB read); go on after its last key.
		sk, _ := out.LastEvaluatedKey[attrSK].(*types.AttributeValueMemberS)
		if sk == nil {
			return store.Page{}, fmt.Errorf("dynamodb: query %s: last key without sk", q.PK)
		}
		page.Next = encodeCursor(sk.Value)
	}
	now := time.UnixMilli(s.nowMs())
	for _, m := range raw {
		it, err := decode(m)
		if err != nil {
			return store.Page{}, err
		}
		if it.Live(now) {
			page.Items = append(page.Items, it)
		}
	}
	return page, nil
}
