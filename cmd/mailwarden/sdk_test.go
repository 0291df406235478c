package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cloudflare/cloudflare-go/v6"
	"github.com/cloudflare/cloudflare-go/v6/email_security"
	"github.com/cloudflare/cloudflare-go/v6/option"

	"github.com/mailwarden/mailwarden/internal/smtpsink"
)

// requireFields fails when a field the SDK decodes is missing, null where it is
// required, or of the wrong JSON type ("the call returned no error" proves little).
type fieldMeta interface {
	IsMissing() bool
	IsNull() bool
	IsInvalid() bool
}

func requireFields(t *testing.T, what string, fields map[string]fieldMeta, nullable ...string) {
	t.Helper()
	for name, f := range fields {
		if f.IsMissing() {
			t.Errorf("%s: field %s missing", what, name)
		}
		if f.IsInvalid() {
			t.Errorf("%s: field %s has the wrong JSON type", what, name)
		}
		if f.IsNull() && !slices.Contains(nullable, name) {
			t.Errorf("%s: field %s is null", what, name)
		}
	}
}

// The official Cloudflare Go SDK, a client nobody here wrote, against the running binary.
func TestCloudflareSDKInvestigate(t *testing.T) {
	sink := smtpsink.Start(t)
	dir := t.TempDir()
	zone := filepath.Join(dir, "test.zone")
	os.WriteFile(zone, []byte("$ORIGIN bank.test.\n$TTL 300\n@ IN TXT \"v=spf1 ip4:192.0.2.10 -all\"\n_dmarc IN TXT \"v=DMARC1; p=reject\"\n"), 0o644)
	s := startServer(t, dir, "--relay", sink.Addr, "--dns-zone", zone)
	for i := 0; i < 5; i++ {
		body := fmt.Sprintf("From: Alice <alice@example.org>\r\nTo: bob@corp.test\r\nSubject: report %d\r\nMessage-ID: <r%d@example.org>\r\nContent-Type: text/html\r\n\r\n<p>See <a href=\"https://example.org/r/%d\">the report</a></p>\r\n", i, i, i)
		if err := sendMail(t, s.smtpAddr, "alice@example.org", []string{"bob@corp.test"}, body); err != nil {
			t.Fatal(err)
		}
	}
	spoof := "From: Bank <security@bank.test>\r\nTo: bob@corp.test\r\nSubject: verify now\r\nMessage-ID: <sp@bank.test>\r\n\r\nverify\r\n"
	if err := sendMail(t, s.smtpAddr, "security@bank.test", []string{"bob@corp.test"}, spoof); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client := cloudflare.NewClient(option.WithBaseURL("http://"+s.httpAddr+"/client/v4"), option.WithAPIToken(s.token), option.WithMaxRetries(0))
	acct := cloudflare.F(s.accountID)

	page, err := client.EmailSecurity.Investigate.List(ctx, email_security.InvestigateListParams{AccountID: acct, PerPage: cloudflare.F(int64(2))})
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if len(page.Result) != 2 {
		t.Fatalf("List per_page=2 gave %d", len(page.Result))
	}
	for _, it := range page.Result {
		j := it.JSON
		requireFields(t, "list item", map[string]fieldMeta{"id": j.ID, "postfix_id": j.PostfixID, "ts": j.Ts, "action_log": j.ActionLog,
			"client_recipients": j.ClientRecipients, "detection_reasons": j.DetectionReasons, "is_phish_submission": j.IsPhishSubmission,
			"is_quarantined": j.IsQuarantined, "properties": j.Properties, "subject": j.Subject, "final_disposition": j.FinalDisposition,
			"validation": j.Validation, "from": j.From, "to": j.To, "envelope_from": j.EnvelopeFrom, "envelope_to": j.EnvelopeTo,
			"message_id": j.MessageID, "scanned_at": j.ScannedAt, "delivery_status": j.DeliveryStatus, "post_delivery_operations": j.PostDeliveryOperations,
			"threat_categories": j.ThreatCategories, "edf_hash": j.EdfHash},
		)
		if !it.FinalDisposition.IsKnown() || !it.Validation.SPF.IsKnown() || !it.Validation.DMARC.IsKnown() {
			t.Errorf("unknown enum values: %+v", it)
		}
		if it.ScannedAt.IsZero() {
			t.Errorf("scanned_at not decoded")
		}
	}
	// Auto-paging walks page=1,2,... until an empty result: all six messages, each once.
	seen := map[string]bool{}
	iter := client.EmailSecurity.Investigate.ListAutoPaging(ctx, email_security.InvestigateListParams{AccountID: acct, PerPage: cloudflare.F(int64(4))})
	for iter.Next() {
		seen[iter.Current().ID] = true
	}
	if err := iter.Err(); err != nil || len(seen) != 6 {
		t.Fatalf("ListAutoPaging: %d messages, err %v", len(seen), err)
	}
	spoofs, err := client.EmailSecurity.Investigate.List(ctx, email_security.InvestigateListParams{AccountID: acct, FinalDisposition: cloudflare.F(email_security.InvestigateListParamsFinalDispositionSpoof)})
	if err != nil || len(spoofs.Result) != 1 {
		t.Fatalf("List SPOOF: %v %v", spoofs, err)
	}
	id := spoofs.Result[0].PostfixID

	got, err := client.EmailSecurity.Investigate.Get(ctx, id, email_security.InvestigateGetParams{AccountID: acct})
	if err != nil || got.ID != id || !got.IsQuarantined || got.FinalDisposition != email_security.InvestigateGetResponseFinalDispositionSpoof {
		t.Fatalf("Get: %+v %v", got, err)
	}
	det, err := client.EmailSecurity.Investigate.Detections.Get(ctx, id, email_security.InvestigateDetectionGetParams{AccountID: acct})
	if err != nil {
		t.Fatalf("Detections: %v", err)
	}
	requireFields(t, "detections", map[string]fieldMeta{"action": det.JSON.Action, "attachments": det.JSON.Attachments, "findings": det.JSON.Findings,
		"headers": det.JSON.Headers, "links": det.JSON.Links, "sender_info": det.JSON.SenderInfo, "threat_categories": det.JSON.ThreatCategories,
		"validation": det.JSON.Validation})
	if len(det.Findings) == 0 || det.Validation.DMARC != email_security.InvestigateDetectionGetResponseValidationDMARCFail {
		t.Errorf("detections: %+v", det)
	}
	raw, err := client.EmailSecurity.Investigate.Raw.Get(ctx, id, email_security.InvestigateRawGetParams{AccountID: acct})
	if err != nil || !strings.Contains(raw.Raw, "Subject: verify now") {
		t.Fatalf("Raw: %v %v", raw, err)
	}
	tr, err := client.EmailSecurity.Investigate.Trace.Get(ctx, id, email_security.InvestigateTraceGetParams{AccountID: acct})
	if err != nil || len(tr.Inbound.Lines) == 0 || tr.Inbound.Lines[0].Lineno != 1 {
		t.Fatalf("Trace: %+v %v", tr, err)
	}
	pv, err := client.EmailSecurity.Investigate.Preview.Get(ctx, id, email_security.InvestigatePreviewGetParams{AccountID: acct})
	if err != nil || len(pv.Screenshot) < 100 {
		t.Fatalf("Preview: %v", err)
	}
	if png, err := base64.StdEncoding.DecodeString(pv.Screenshot); err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Errorf("preview screenshot is not a base64 PNG: %v", err)
	}
	pv2, err := client.EmailSecurity.Investigate.Preview.New(ctx, email_security.InvestigatePreviewNewParams{AccountID: acct, PostfixID: cloudflare.F(id)})
	if err != nil || pv2.Screenshot != pv.Screenshot {
		t.Errorf("Preview.New: %v", err)
	}
	rel, err := client.EmailSecurity.Investigate.Release.Bulk(ctx, email_security.InvestigateReleaseBulkParams{AccountID: acct, Body: []string{id}})
	if err != nil || len(rel.Result) != 1 || rel.Result[0].PostfixID != id || len(rel.Result[0].Delivered) != 1 {
		t.Fatalf("Release: %+v %v", rel, err)
	}
	if n := len(sink.Wait(6, 5*time.Second)); n != 6 {
		t.Errorf("sink has %d messages, want 5 clean + 1 released", n)
	}
	// Errors come back as *cloudflare.Error with the status.
	_, err = client.EmailSecurity.Investigate.Get(ctx, "nosuchid", email_security.InvestigateGetParams{AccountID: acct})
	if apiErr, ok := err.(*cloudflare.Error); !ok || apiErr.StatusCode != 404 {
		t.Errorf("Get of a missing id: %v", err)
	}
}
