package detect

// Trigger names. They are stable reason codes: stored with verdicts, shown in the
// console and matched by API clients. Never rename one; add a new name instead.
//
// Naming scheme for DMARC: the name carries the published policy of the From
// domain (dmarc_fail_reject_policy, dmarc_fail_quarantine_policy,
// dmarc_fail_none_policy), so a reader sees at once whether the domain owner asked
// for the message to be refused.
const (
	// Policy (category policy).
	TrigTrustedSender    = "trusted_sender"    // allow policy: trusted sender, detection bypassed
	TrigExemptRecipient  = "exempt_recipient"  // allow policy: recipient exempt, detection bypassed
	TrigAcceptableSender = "acceptable_sender" // allow policy: exempt from SPAM, SPOOF and BULK
	TrigBlockedSender    = "blocked_sender"    // block sender entry matched: MALICIOUS

	// Authentication (category spoof).
	TrigSPFFail                  = "spf_fail"                     // SPF fail or softfail for the MAIL FROM domain
	TrigDKIMFail                 = "dkim_fail"                    // a DKIM signature is present and none passes
	TrigDMARCFailReject          = "dmarc_fail_reject_policy"     // DMARC fail, From domain publishes p=reject
	TrigDMARCFailQuarantine      = "dmarc_fail_quarantine_policy" // DMARC fail, p=quarantine
	TrigDMARCFailNone            = "dmarc_fail_none_policy"       // DMARC fail, p=none (monitoring only)
	TrigHeaderEnvelopeMismatch   = "header_envelope_mismatch"     // envelope From and header From in different organisations
	TrigProtectedDomainUnauthent = "protected_domain_unauthenticated"

	// Phishing (category phish).
	TrigLookalikeDomain     = "lookalike_domain"           // sender, Reply-To or link domain imitates a protected domain
	TrigDisplayNameImperson = "display_name_impersonation" // display name of a registered executive, or a protected address, from outside
	TrigDisplayNameAddress  = "display_name_address"       // display name shows another organisation's address or domain
	TrigBrandImpersonation  = "brand_impersonation"        // display name is a well-known brand, the address is not at its domains
	TrigLinkTextMismatch    = "link_text_mismatch"         // anchor text shows one domain, href goes to another
	TrigIPLiteralLink       = "ip_literal_link"            // link to a bare IP address
	TrigURLShortenerLink    = "url_shortener_link"         // link through a URL shortener
	TrigFreeHostingLink     = "free_hosting_link"          // link to free web hosting / form / storage services
	TrigFreeHostingSender   = "free_hosting_sender"        // From domain is a tenant subdomain of free hosting
	TrigCredentialForm      = "credential_form"            // HTML form asking for a password or e-mail, posting off-site
	TrigDangerousAttachment = "dangerous_attachment"       // executable, script, disk image, macro document, double extension
	TrigEncryptedArchive    = "encrypted_archive"          // password-protected ZIP (entries encrypted)
	TrigHTMLSmuggling       = "html_smuggling"             // HTML that builds a file in the browser (Blob/atob + large base64)
	TrigPaymentRequest      = "payment_request"            // urgent payment / wire / gift-card request from a first-time sender
	TrigReplyToDivert       = "reply_to_divert"            // replies go to another organisation (stronger: free-mail)
	TrigCredentialLanguage  = "credential_language"        // account-verification / suspension language with a link
	TrigAdvanceFeeFraud     = "advance_fee_fraud"          // a large sum, where it comes from, and a private request ("419")
	TrigBayesPhish          = "bayes_phish"                // content model: bad, and phishing rather than spam
	TrigFreemailScam        = "freemail_scam"              // content model: bad, from (or replies to) a consumer mailbox
	TrigBayesHamPhish       = "bayes_ham_phish"            // content model: ham; link and wording heuristics discounted (negative)
	TrigBayesBadPhish       = "bayes_bad_phish"            // content model: spam, and soft phishing indicators with it
	TrigEstablishedSender   = "established_sender"         // negative: authenticated sender with a clean history; model-only phish score discounted
	TrigBrandConsistent     = "brand_consistent"           // negative: mail of one known brand (authenticated, or every link on its domains); bayes_phish discounted
	TrigCoherentSender      = "coherent_sender"            // negative: display name names the From organisation, every link stays on it; bayes_phish discounted to BULK

	// Spam (category spam).
	TrigBayesSpam    = "bayes_spam"      // content model: spam
	TrigBayesHam     = "bayes_ham"       // content model: ham (negative score)
	TrigBayesLean    = "bayes_lean_spam" // content model: leans spam, unsure (needs one more spam signal)
	TrigSpamLanguage = "spam_language"   // classic unsolicited-commercial phrases
	TrigNoRecipients = "no_visible_recipients"

	// Bulk (category bulk).
	TrigBulkHeaders         = "bulk_headers"         // list / ESP headers
	TrigObscuredUnsubscribe = "obscured_unsubscribe" // unsubscribe link hidden, image-only or missing
	TrigBayesUnsure         = "bayes_unsure"         // content model: more likely bad than good, but unsure
	TrigModelOnly           = "content_model_only"   // info: spam score from the content model alone, so BULK
	TrigIdentifiedMailer    = "identified_mailer"    // info: spam score on mail from a sender that stands behind it, so BULK
)

// Trigger scores. A category's thresholds are in Thresholds; these are the
// contributions, chosen so that one strong signal or a few weak ones cross them.
const (
	scoreSPFFail             = 1.0
	scoreSPFSoftfail         = 0.5
	scoreDKIMFail            = 1.0
	scoreDMARCFailReject     = 6.0 // SPOOF alone
	scoreDMARCFailQuarantine = 5.0 // SPOOF alone
	scoreDMARCFailNone       = 1.5
	scoreEnvelopeMismatch    = 0.5
	scoreProtectedUnauth     = 6.0 // SPOOF alone

	scoreLookalikeFrom      = 6.0
	scoreLookalikeLink      = 4.0
	scoreDisplayNameExec    = 5.0
	scoreDisplayNameAddr    = 1.0
	scoreBrandImperson      = 4.0 // SUSPICIOUS alone
	scoreLinkTextMismatch   = 3.0
	scoreLinkTextProtected  = 5.0 // the text shows one of the organisation's domains
	scoreIPLiteralLink      = 2.5
	scoreShortener          = 1.0
	scoreFreeHosting        = 1.5
	scoreFreeHostingSender  = 1.5
	scoreCredentialForm     = 5.0
	scoreEmailForm          = 1.5
	scoreExecutable         = 6.0
	scoreDoubleExtension    = 8.0 // MALICIOUS alone
	scoreMacroDoc           = 4.0
	scoreDiskImage          = 4.0
	scoreRedirectAttachment = 4.0 // an HTML attachment that leaves for another page: SUSPICIOUS alone
	scoreEncryptedArchive   = 4.0
	scoreHTMLSmuggling      = 8.0 // MALICIOUS alone
	scorePaymentFirstTime   = 4.0
	scorePaymentUnknown     = 2.5 // no sender history available
	scoreReplyTo            = 1.0
	scoreReplyToFreemail    = 3.0
	scoreCredentialLang     = 1.5 // per distinct phrase group, at most 2 groups
	scoreBayesPhish         = 4.0
	scoreFreemailScam       = 4.0  // SUSPICIOUS alone: only fires when the content model rates the mail bad
	scoreBayesBadPhish      = 3.0  // with the weakest soft phish trigger (1.0) reaches SUSPICIOUS
	scoreAdvanceFee         = 4.0  // SUSPICIOUS alone: fraud is phishing's class (DESIGN.md), whatever the model says
	scoreSpamLanguage       = 1.25 // per distinct phrase, at most 4
	scoreNoRecipients       = 0.5
	scoreBayesHam           = -3.0
	maxBayesHamPhish        = 3.0 // most that bayes_ham_phish takes off the phish score
	scoreObscuredUnsub      = 2.0
	scoreMissingUnsub       = 1.5
	scoreMaxBulkHeaderRule  = 4.5
)
