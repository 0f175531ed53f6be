package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"os"
	"testing"

	scfevents "github.com/tencentyun/scf-go-lib/events"

	"github.com/siyuhq/siyu/functions/callback/root"
	"github.com/siyuhq/siyu/shared/scfedge"
	"github.com/siyuhq/siyu/shared/store"
	_ "github.com/siyuhq/siyu/shared/store/sqlstore/mysql"
	"github.com/siyuhq/siyu/shared/testutil"
)

// TestSCFEndToEnd runs the SCF build of the callback as SCF runs it —
// scf-go-lib's rpc server on the port the platform names, invoked with API
// gateway events — inside a network namespace of its own, because
// scf-go-lib listens on every interface. It is the release SCF build (tags
// scf,timetzdata) storing into MariaDB, the stand-in for TDSQL-C, which
// runs inside the same namespace.
func TestSCFEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: builds the SCF binary and runs it under scf-go-lib's protocol")
	}
	const binEnv = "SIYU_E2E_SCF_BIN"
	bin := os.Getenv(binEnv)
	if bin == "" {
		bin = testutil.BuildCommand(t, "./functions/callback", "main", []string{"scf", "timetzdata"})
	}
	if !testutil.InIsolatedNet(t, binEnv+"="+bin) {
		return
	}

	dsn := "mysql:" + testutil.MariaDB(t)
	fn := testutil.SCF(t, bin, append(wecomEnv(), "SIYU_STORE="+dsn)...)
	st, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })

	send := func(t *testing.T, c httpCall) httpReply {
		t.Helper()
		q, err := url.ParseQuery(c.RawQuery)
		if err != nil {
			t.Fatal(err)
		}
		ev := scfedge.HTTPRequest{APIGatewayRequest: scfevents.APIGatewayRequest{
			Headers:     map[string]string{"host": "service-test-1250000000.gz.apigw.tencentcs.com", "content-type": "text/xml"},
			Method:      c.Method,
			Path:        root.Path,
			QueryString: scfevents.APIGatewayQueryString(q),
			Body:        string(c.Body),
			Context: scfevents.APIGatewayRequestContext{ServiceID: "service-test", RequestID: "r-1", Method: "ANY",
				Path: root.Path, SourceIP: "203.0.113.9", Stage: "release"},
		}}
		payload, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		out, err := fn.Invoke(context.Background(), payload)
		if err != nil {
			t.Fatalf("invoke: %v\nfunction output:\n%s", err, fn.Output.String())
		}
		var resp scfedge.HTTPResponse
		decodeJSON(t, out, &resp)
		body := resp.Body
		if resp.IsBase64Encoded {
			b, err := base64.StdEncoding.DecodeString(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			body = string(b)
		}
		return httpReply{Status: resp.StatusCode, Body: body}
	}
	runCallbackScenarios(t, send, st)
}
