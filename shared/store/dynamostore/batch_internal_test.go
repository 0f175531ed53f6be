package dynamostore

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/siyuhq/siyu/shared/store"
)

// fakeBatchGet answers BatchGetItem only. Every key it is asked for exists
// (data = sk); serve decides how many of a request's n keys it answers (the
// first sk names the request), the rest coming back unprocessed.
type fakeBatchGet struct {
	t     *testing.T
	serve func(first string, n int) int

	mu       sync.Mutex
	calls    int
	inFlight int
	maxSeen  int
	keys     int
}

type wireKey map[string]map[string]string

func (f *fakeBatchGet) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if target := r.Header.Get("X-Amz-Target"); !strings.HasSuffix(target, ".BatchGetItem") {
		http.Error(w, "unexpected "+target, http.StatusBadRequest)
		return
	}
	var in struct {
		RequestItems map[string]struct {
			Keys           []wireKey
			ConsistentRead bool
		}
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.calls++
	f.inFlight++
	f.maxSeen = max(f.maxSeen, f.inFlight)
	f.mu.Unlock()
	time.Sleep(2 * time.Millisecond) // let requests overlap
	defer func() {
		f.mu.Lock()
		f.inFlight--
		f.mu.Unlock()
	}()

	req := in.RequestItems["t"]
	if !req.ConsistentRead {
		f.t.Errorf("BatchGetItem without ConsistentRead")
	}
	if len(req.Keys) > batchGetKeys {
		f.t.Errorf("BatchGetItem of %d keys", len(req.Keys))
	}
	if len(req.Keys) == 0 {
		f.t.Errorf("BatchGetItem without keys")
		http.Error(w, "no keys", http.StatusBadRequest)
		return
	}
	n := min(f.serve(req.Keys[0]["sk"]["S"], len(req.Keys)), len(req.Keys))
	f.mu.Lock()
	f.keys += n
	f.mu.Unlock()
	items := []map[string]map[string]string{}
	for _, k := range req.Keys[:n] {
		sk := k["sk"]["S"]
		items = append(items, map[string]map[string]string{
			"pk": {"S": k["pk"]["S"]}, "sk": {"S": sk},
			"d": {"B": base64.StdEncoding.EncodeToString([]byte(sk))}, "n": {"N": "0"}, "v": {"N": "1"},
		})
	}
	out := map[string]any{"Responses": map[string]any{"t": items}, "UnprocessedKeys": map[string]any{}}
	if left := req.Keys[n:]; len(left) > 0 {
		out["UnprocessedKeys"] = map[string]any{"t": map[string]any{"Keys": left}}
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	json.NewEncoder(w).Encode(out)
}

func fakeStore(t *testing.T, f *fakeBatchGet) *Store {
	t.Helper()
	f.t = t
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	c := dynamodb.New(dynamodb.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("x", "x", ""),
	})
	base, most := backoffBase, backoffMax
	backoffBase, backoffMax = time.Millisecond, 5*time.Millisecond
	t.Cleanup(func() { backoffBase, backoffMax = base, most })
	return New(c, "t")
}

func manyKeys(n int) []store.Key {
	keys := make([]store.Key, 0, n)
	for i := range n {
		keys = append(keys, store.Key{PK: "p", SK: fmt.Sprintf("k%04d", i)})
	}
	return keys
}

func TestGetManyRetriesUnprocessedKeys(t *testing.T) {
	// A request gets none of its keys through the first time it is sent,
	// then a third of them: GetMany must keep going until every key is read.
	var mu sync.Mutex
	tried := map[string]bool{}
	f := &fakeBatchGet{serve: func(first string, n int) int {
		mu.Lock()
		defer mu.Unlock()
		if !tried[first] {
			tried[first] = true
			return 0
		}
		return max(1, n/3)
	}}
	s := fakeStore(t, f)
	keys := manyKeys(950)
	got, err := s.GetMany(t.Context(), append(keys, keys[:10]...))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(keys) {
		t.Fatalf("GetMany returned %d of %d keys", len(got), len(keys))
	}
	for _, k := range keys {
		if it := got[k]; string(it.Data) != k.SK || it.Version != 1 {
			t.Fatalf("GetMany[%v] = %+v", k, it)
		}
	}
	if f.keys != len(keys) {
		t.Errorf("the server answered %d keys, want each of the %d once", f.keys, len(keys))
	}
	if f.maxSeen > batchGetInFlight {
		t.Errorf("%d requests in flight, want at most %d", f.maxSeen, batchGetInFlight)
	}
	t.Logf("%d requests, at most %d at once", f.calls, f.maxSeen)
}

func TestGetManyGivesUpWhenNothingGetsThrough(t *testing.T) {
	f := &fakeBatchGet{serve: func(string, int) int { return 0 }}
	s := fakeStore(t, f)
	_, err := s.GetMany(t.Context(), manyKeys(3))
	if err == nil || !strings.Contains(err.Error(), "unprocessed") {
		t.Fatalf("GetMany = %v, want an error about unprocessed keys", err)
	}
	if f.calls != unprocessedAttempts {
		t.Errorf("%d requests, want %d", f.calls, unprocessedAttempts)
	}
	t.Log(err)
}

func TestGetManyStopsWaitingWhenCanceled(t *testing.T) {
	f := &fakeBatchGet{serve: func(string, int) int { return 0 }}
	s := fakeStore(t, f)
	backoffBase, backoffMax = time.Hour, time.Hour
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := s.GetMany(ctx, manyKeys(3))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("GetMany = %v, want the context's deadline", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("GetMany took %v after its context ended", d)
	}
}

func TestParallel(t *testing.T) {
	t.Run("calls every index once, at most limit at once", func(t *testing.T) {
		var inFlight, most atomic.Int64
		seen := make([]atomic.Int64, 100)
		err := parallel(t.Context(), len(seen), 3, func(ctx context.Context, i int) error {
			n := inFlight.Add(1)
			defer inFlight.Add(-1)
			for {
				m := most.Load()
				if n <= m || most.CompareAndSwap(m, n) {
					break
				}
			}
			time.Sleep(time.Millisecond)
			seen[i].Add(1)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		for i := range seen {
			if n := seen[i].Load(); n != 1 {
				t.Fatalf("index %d called %d times", i, n)
			}
		}
		if most.Load() > 3 {
			t.Fatalf("%d calls at once, want at most 3", most.Load())
		}
	})

	t.Run("stops at the first error and returns it", func(t *testing.T) {
		boom := errors.New("boom")
		var calls atomic.Int64
		err := parallel(t.Context(), 1000, 4, func(ctx context.Context, i int) error {
			calls.Add(1)
			if i == 5 {
				return boom
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Millisecond):
				return nil
			}
		})
		if !errors.Is(err, boom) {
			t.Fatalf("parallel = %v, want boom", err)
		}
		if n := calls.Load(); n > 20 {
			t.Fatalf("%d calls after the error", n)
		}
	})

	t.Run("reports a context that ends before the work is done", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		err := parallel(ctx, 1000, 2, func(ctx context.Context, i int) error {
			if i == 10 {
				cancel()
			}
			return nil
		})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("parallel = %v, want context.Canceled", err)
		}
	})
}
